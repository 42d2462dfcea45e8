"""Row <-> entity conversion and dialect-specific upserts for the tracking tables."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select, Table, and_, or_
from sqlalchemy.dialects import postgresql, sqlite

from trackflow.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
)
from trackflow.errors import InvalidInput
from trackflow.store.sql import tables as t


def insert_for(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT that supports ON CONFLICT (SQLite and PostgreSQL share the API)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def fetch_tuples(conn: Connection, query: Select[Any]) -> list[tuple[Any, ...]]:
    """The DBAPI's plain tuples for ``query``: no Row objects and no result processing, for
    reads of 100,000 rows (a metric history) where those cost more than the query."""
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})  # IN lists too
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    except conn.dialect.loaded_dbapi.DataError as exc:  # as Database's own wrapping: bad input, not a 5xx
        raise InvalidInput(f"the database refused a value: {str(exc).strip().splitlines()[0]}") from None
    finally:
        cursor.close()


def metric_value(row: Any) -> float:
    return math.nan if row.is_nan else float(row.value)


def metric_row(run_id: str, metric: Metric) -> dict[str, Any]:
    is_nan = math.isnan(metric.value)
    return {
        "run_uuid": run_id,
        "key": metric.key,
        "value": 0.0 if is_nan else float(metric.value),
        "is_nan": is_nan,
        "timestamp": metric.timestamp,
        "step": metric.step,
    }


def _metric_order(row: Mapping[str, Any]) -> tuple[int, int, bool, float]:
    # MLflow's rule for the latest value: highest step, then timestamp, then value (NaN lowest).
    return (row["step"], row["timestamp"], not row["is_nan"], row["value"])


def upsert_latest_metrics(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (row["run_uuid"], row["key"])
        if key not in newest or _metric_order(row) >= _metric_order(newest[key]):
            newest[key] = row
    if not newest:
        return
    stmt = insert_for(conn, t.latest_metrics)
    ex, cur = stmt.excluded, t.latest_metrics.c
    newer = or_(
        ex.step > cur.step,
        and_(ex.step == cur.step, ex.timestamp > cur.timestamp),
        and_(ex.step == cur.step, ex.timestamp == cur.timestamp, ex.is_nan == cur.is_nan, ex.value >= cur.value),
        and_(ex.step == cur.step, ex.timestamp == cur.timestamp, cur.is_nan, ex.is_nan == False),  # noqa: E712
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[cur.run_uuid, cur.key],
        set_={"value": ex.value, "is_nan": ex.is_nan, "timestamp": ex.timestamp, "step": ex.step},
        where=newer,
    )
    conn.execute(stmt, list(newest.values()))


def experiment_from_row(row: Any, tags: dict[str, str], default_root: str) -> Experiment:
    location = row.artifact_location or join_uri(default_root, str(row.experiment_id))
    return Experiment(
        experiment_id=str(row.experiment_id),
        name=row.name,
        artifact_location=location,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
        tags=tags,
        creation_time=row.creation_time,
        last_update_time=row.last_update_time,
    )


def run_info_from_row(row: Any) -> RunInfo:
    return RunInfo(
        run_id=row.run_uuid,
        experiment_id=str(row.experiment_id),
        run_name=row.name,
        user_id=row.user_id,
        status=RunStatus(row.status),
        start_time=row.start_time,
        end_time=row.end_time,
        artifact_uri=row.artifact_uri,
        lifecycle_stage=LifecycleStage(row.lifecycle_stage),
    )


def assemble_runs(
    run_rows: Iterable[Any],
    param_rows: Iterable[Any],
    tag_rows: Iterable[Any],
    metric_rows: Iterable[Any],
    input_rows: Iterable[Any] = (),
) -> list[Run]:
    """Runs from rows of the runs table, (run_uuid, key, value) param and tag tuples,
    (run_uuid, key, value, is_nan, timestamp, step) latest-metric tuples and run_inputs rows."""
    runs: dict[str, Run] = {row.run_uuid: Run(info=run_info_from_row(row), data=RunData()) for row in run_rows}
    for run_uuid, key, value in param_rows:
        runs[run_uuid].data.params[key] = value
    for run_uuid, key, value in tag_rows:
        runs[run_uuid].data.tags[key] = value
    for run_uuid, key, number, is_nan, timestamp, step in metric_rows:
        value = math.nan if is_nan else float(number)
        data = runs[run_uuid].data
        data.metrics[key] = value
        data.latest_metrics[key] = Metric(key, value, timestamp, step)
    for row in input_rows:
        runs[row.run_uuid].inputs.datasets.append(
            DatasetInput(
                name=row.name,
                digest=row.digest,
                source_type=row.source_type,
                source=row.source,
                schema=row.schema,
                profile=row.profile,
                tags=json.loads(row.tags_json or "{}"),
            )
        )
    return list(runs.values())


def join_uri(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])
