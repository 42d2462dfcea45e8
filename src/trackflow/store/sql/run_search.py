"""Compile search_runs filters and order_by into one SELECT of run ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import JSON, Select, and_, case, exists, select, type_coerce

from trackflow.entities import ViewType
from trackflow.store.search_filter import Comparison, OrderBy, parse_filter, parse_order_by
from trackflow.store.sql import tables as t
from trackflow.store.sql.predicates import compare, with_integer_value

_ATTRIBUTE_COLUMNS = {
    "run_id": t.runs.c.run_uuid,
    "run_name": t.runs.c.name,
    "status": t.runs.c.status,
    "user_id": t.runs.c.user_id,
    "artifact_uri": t.runs.c.artifact_uri,
    "start_time": t.runs.c.start_time,
    "end_time": t.runs.c.end_time,
    "lifecycle_stage": t.runs.c.lifecycle_stage,
    "experiment_id": t.runs.c.experiment_id,
}
_ENTITY_TABLES = {"metric": t.latest_metrics, "param": t.params, "tag": t.tags}
DATASET_CONTEXT_TAG = "mlflow.data.context"


def _attribute(key: str) -> Any:
    return _ATTRIBUTE_COLUMNS[key]


def _dataset_clause(comparison: Comparison) -> Any:
    """The run has a dataset input whose name, digest or context tag matches."""
    inputs = t.run_inputs.c
    if comparison.key == "context":
        column = type_coerce(inputs.tags_json, JSON)[DATASET_CONTEXT_TAG].as_string()
    else:
        column = inputs.name if comparison.key == "name" else inputs.digest
    return exists().where(inputs.run_uuid == t.runs.c.run_uuid, compare(column, comparison))


def _filter_clause(comparison: Comparison) -> Any:
    if comparison.kind == "dataset":
        return _dataset_clause(comparison)
    if comparison.kind == "attribute":
        column = _attribute(comparison.key)
        if comparison.key == "experiment_id":
            comparison = with_integer_value(comparison)
        return compare(column, comparison)
    table = _ENTITY_TABLES[comparison.kind]
    same_run = and_(table.c.run_uuid == t.runs.c.run_uuid, table.c.key == comparison.key)
    if comparison.op == "IS NULL":
        return ~exists().where(same_run)
    if comparison.op == "IS NOT NULL":
        return exists().where(same_run)
    condition = compare(table.c.value, comparison)
    if comparison.kind == "metric":
        condition = and_(condition, table.c.is_nan.is_(False))
    return exists().where(same_run, condition)


def _order_columns(query: Select, order: OrderBy, index: int) -> tuple[Select, list[Any]]:
    if order.kind == "attribute":
        column = _attribute(order.key)
        query_column = column
    else:
        table = _ENTITY_TABLES[order.kind].alias(f"order_{index}")
        query = query.outerjoin(table, and_(table.c.run_uuid == t.runs.c.run_uuid, table.c.key == order.key))
        query_column = table.c.value
    # Missing values sort last in both directions, as in MLflow.
    nulls_last = case((query_column.is_(None), 1), else_=0)
    return query, [nulls_last, query_column.asc() if order.ascending else query_column.desc()]


def build_query(
    experiment_ids: Sequence[int], filter_string: str | None, view_type: ViewType, order_by: Sequence[str] | None
) -> Select:
    """SELECT run_uuid of matching runs, ordered; the caller adds LIMIT/OFFSET."""
    query = select(t.runs.c.run_uuid).where(
        t.runs.c.experiment_id.in_(list(experiment_ids)),
        t.runs.c.lifecycle_stage.in_([stage.value for stage in view_type.stages()]),
    )
    for comparison in parse_filter(filter_string):
        query = query.where(_filter_clause(comparison))
    ordering: list[Any] = []
    for index, clause in enumerate(order_by or ()):
        query, columns = _order_columns(query, parse_order_by(clause), index)
        ordering.extend(columns)
    ordering.extend([t.runs.c.start_time.desc(), t.runs.c.run_uuid])
    return query.order_by(*ordering)
