"""Compile search_logged_models (MLflow's grammar) into one SELECT of model ids, and its page tokens.

Page tokens carry the offset together with the query they belong to, as MLflow's do, so a
token replayed with another filter, order or experiment list is refused instead of silently
paging through a different result.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select, true

from trackflow.entities import DatasetFilter, LoggedModelOrder, LoggedModelStatus
from trackflow.errors import InvalidInput
from trackflow.store.search_filter import (
    Comparison,
    parse_logged_model_filter,
    parse_logged_model_order_attribute,
)
from trackflow.store.sql import logged_model_tables as lt
from trackflow.store.sql.predicates import compare, with_integer_value

_COLUMNS = {
    "model_id": lt.logged_models.c.model_id,
    "name": lt.logged_models.c.name,
    "status": lt.logged_models.c.status,
    "model_type": lt.logged_models.c.model_type,
    "source_run_id": lt.logged_models.c.source_run_id,
    "artifact_location": lt.logged_models.c.artifact_location,
    "experiment_id": lt.logged_models.c.experiment_id,
    "creation_timestamp_ms": lt.logged_models.c.creation_timestamp_ms,
    "last_updated_timestamp_ms": lt.logged_models.c.last_updated_timestamp_ms,
}
_PROTO_STATUS = {  # the names and numbers of MLflow's LoggedModelStatus proto enum
    "LOGGED_MODEL_STATUS_UNSPECIFIED": "UNSPECIFIED", "0": "UNSPECIFIED",
    "LOGGED_MODEL_PENDING": "PENDING", "1": "PENDING",
    "LOGGED_MODEL_READY": "READY", "2": "READY",
    "LOGGED_MODEL_UPLOAD_FAILED": "FAILED", "3": "FAILED",
}  # fmt: skip


def status_value(value: str) -> str:
    """A stored status for ``READY``, ``LOGGED_MODEL_READY`` or ``2`` (anything else unchanged)."""
    name = _PROTO_STATUS.get(value, value)
    return name if name in LoggedModelStatus.__members__ else value


def _dataset_clause(datasets: Sequence[DatasetFilter]) -> Any:
    m = lt.logged_model_metrics.c
    return or_(
        *[
            and_(m.dataset_name == d.dataset_name, m.dataset_digest == d.dataset_digest if d.dataset_digest else true())
            for d in datasets
        ]
    )


def _filter_clause(comparison: Comparison, datasets: Sequence[DatasetFilter]) -> Any:
    model_id = lt.logged_models.c.model_id
    if comparison.kind == "attribute":
        if comparison.key == "experiment_id":
            comparison = with_integer_value(comparison)
        elif comparison.key == "status":
            value = comparison.value
            mapped = tuple(status_value(v) for v in value) if isinstance(value, tuple) else status_value(str(value))
            comparison = Comparison(comparison.kind, comparison.key, comparison.op, mapped)
        return compare(_COLUMNS[comparison.key], comparison)
    if comparison.kind == "metric":
        m = lt.logged_model_metrics.c
        conditions = [
            m.model_id == model_id,
            m.key == comparison.key,
            m.is_nan.is_(False),
            compare(m.value, comparison),
        ]
        if datasets:
            conditions.append(_dataset_clause(datasets))
        return exists().where(*conditions)
    table = lt.logged_model_params if comparison.kind == "param" else lt.logged_model_tags
    return exists().where(
        table.c.model_id == model_id, table.c.key == comparison.key, compare(table.c.value, comparison)
    )


def _latest_metric(order: LoggedModelOrder, key: str, index: int) -> Any:
    """Per model, the value of its newest point of metric ``key`` (newest timestamp, then step)."""
    m = lt.logged_model_metrics.c
    conditions = [m.key == key]
    if order.dataset_name:
        conditions.append(m.dataset_name == order.dataset_name)
    if order.dataset_digest:
        conditions.append(m.dataset_digest == order.dataset_digest)
    ranked = (
        select(
            m.model_id,
            case((m.is_nan, None), else_=m.value).label("value"),
            func.row_number()
            .over(partition_by=m.model_id, order_by=[m.timestamp.desc(), m.step.desc(), m.run_uuid.asc()])
            .label("rank"),
        )
        .where(*conditions)
        .subquery(f"ranked_{index}")
    )
    return select(ranked.c.model_id, ranked.c.value).where(ranked.c.rank == 1).subquery(f"latest_{index}")


def build_query(
    experiment_ids: Sequence[int],
    filter_string: str | None,
    datasets: Sequence[DatasetFilter],
    order_by: Sequence[LoggedModelOrder],
) -> Select:
    """SELECT model_id of the matching active models, ordered; the caller adds LIMIT/OFFSET."""
    lm = lt.logged_models.c
    query = select(lm.model_id).where(lm.lifecycle_stage != "deleted", lm.experiment_id.in_(list(experiment_ids)))
    comparisons = parse_logged_model_filter(filter_string)
    for comparison in comparisons:
        query = query.where(_filter_clause(comparison, datasets))
    if datasets and not any(c.kind == "metric" for c in comparisons):
        # Datasets without a metric filter: the models with any metric on those datasets.
        m = lt.logged_model_metrics.c
        query = query.where(exists().where(m.model_id == lm.model_id, _dataset_clause(datasets)))
    ordering: list[Any] = []
    named: set[str] = set()
    for index, order in enumerate(order_by):
        if "." in order.field_name:
            entity, key = order.field_name.split(".", 1)
            if entity != "metrics":
                raise InvalidInput(f"Invalid order by field name: {order.field_name}. Only metrics are supported.")
            latest = _latest_metric(order, key, index)
            query = query.outerjoin(latest, latest.c.model_id == lm.model_id)
            column = latest.c.value
        else:
            attribute = parse_logged_model_order_attribute(order.field_name)
            named.add(attribute)
            column = _COLUMNS[attribute]
        # Missing values sort last in both directions, as in MLflow.
        ordering.extend([case((column.is_(None), 1), else_=0), column.asc() if order.ascending else column.desc()])
    if "creation_timestamp_ms" not in named:
        ordering.append(lm.creation_timestamp_ms.desc())
    if "model_id" not in named:
        ordering.append(lm.model_id.asc())
    return query.order_by(*ordering)


def encode_token(offset: int, experiment_ids: Sequence[str], filter_string: str | None, order_key: Any) -> str:
    state = {"offset": offset, "experiment_ids": list(experiment_ids), "filter": filter_string, "order_by": order_key}
    return base64.b64encode(json.dumps(state).encode()).decode()


def decode_token(token: str | None, experiment_ids: Sequence[str], filter_string: str | None, order_key: Any) -> int:
    """The offset of ``token`` (0 for none); InvalidInput if it is malformed or belongs to
    another search (other experiments, filter or order)."""
    if not token:
        return 0
    try:
        state = json.loads(base64.b64decode(token.encode(), validate=True))
        offset = state["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"Invalid page token: {token!r}") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidInput(f"Invalid page token: {token!r}")
    if state.get("experiment_ids") != list(experiment_ids):
        raise InvalidInput("Experiment IDs in the page token do not match the requested experiment IDs.")
    if state.get("filter") != filter_string:
        raise InvalidInput("Filter string in the page token does not match the requested filter string.")
    if state.get("order_by") != order_key:
        raise InvalidInput("Order by in the page token does not match the requested order by.")
    return offset
