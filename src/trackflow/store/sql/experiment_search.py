"""Compile search_experiments filters and order_by into one SELECT."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, exists, select

from trackflow.entities import ViewType
from trackflow.store.search_filter import Comparison, parse_experiment_filter, parse_experiment_order_by
from trackflow.store.sql import tables as t
from trackflow.store.sql.predicates import compare, with_integer_value

_COLUMNS = {
    "name": t.experiments.c.name,
    "experiment_id": t.experiments.c.experiment_id,
    "creation_time": t.experiments.c.creation_time,
    "last_update_time": t.experiments.c.last_update_time,
}


def _filter_clause(comparison: Comparison) -> Any:
    if comparison.kind == "attribute":
        if comparison.key == "experiment_id":
            comparison = with_integer_value(comparison)
        return compare(_COLUMNS[comparison.key], comparison)
    tags = t.experiment_tags
    same = and_(tags.c.experiment_id == t.experiments.c.experiment_id, tags.c.key == comparison.key)
    if comparison.op == "IS NULL":
        return ~exists().where(same)
    if comparison.op == "IS NOT NULL":
        return exists().where(same)
    return exists().where(same, compare(tags.c.value, comparison))


def build_query(view_type: ViewType, filter_string: str | None, order_by: Sequence[str] | None) -> Select:
    query = select(t.experiments).where(
        t.experiments.c.lifecycle_stage.in_([stage.value for stage in ViewType(view_type).stages()])
    )
    for comparison in parse_experiment_filter(filter_string):
        query = query.where(_filter_clause(comparison))
    ordering: list[Any] = []
    for index, clause in enumerate(order_by or ()):
        order = parse_experiment_order_by(clause)
        if order.kind == "attribute":
            column = _COLUMNS[order.key]
        else:
            tags = t.experiment_tags.alias(f"order_{index}")
            query = query.outerjoin(
                tags, and_(tags.c.experiment_id == t.experiments.c.experiment_id, tags.c.key == order.key)
            )
            column = tags.c.value
        ordering.extend([case((column.is_(None), 1), else_=0), column.asc() if order.ascending else column.desc()])
    # MLflow's default: newest first.
    ordering.extend([t.experiments.c.creation_time.desc(), t.experiments.c.experiment_id.desc()])
    return query.order_by(*ordering)
