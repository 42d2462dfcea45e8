"""SQL implementation of the pipeline store (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from trackflow.entities.pipelines import (
    DagRecord,
    DagRun,
    ImportErrorRecord,
    LineageEdge,
    Pool,
    TaskInstance,
    TaskOutput,
    TaskTry,
)
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.store.pipeline_base import NewTaskInstance, TIKey, Transition
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_tables import (
    dag_runs,
    dags,
    import_errors,
    pools,
    task_instances,
    task_lineage,
    task_outputs,
    task_tries,
)

ACTIVE_TI_STATES = ("queued", "running")
FINISHED_RUN_STATES = ("success", "failed")


def to_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def from_ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, tz=UTC)


def _req(value: int | None) -> datetime:
    out = from_ms(value)
    assert out is not None
    return out


def _dag(row: Row[Any]) -> DagRecord:
    return DagRecord(
        dag_id=row.dag_id, fileloc=row.fileloc, is_paused=bool(row.is_paused), is_active=bool(row.is_active),
        last_parsed=from_ms(row.last_parsed), spec=json.loads(row.spec),
    )


def _run(row: Row[Any]) -> DagRun:
    return DagRun(
        dag_id=row.dag_id, run_id=row.run_id, state=row.state, run_type=row.run_type,
        logical_date=_req(row.logical_date), data_interval_start=_req(row.data_interval_start),
        data_interval_end=_req(row.data_interval_end), run_after=_req(row.run_after),
        conf=json.loads(row.conf or "{}"), queued_at=from_ms(row.queued_at), start_date=from_ms(row.start_date),
        end_date=from_ms(row.end_date), tracking_run_id=row.tracking_run_id, experiment_id=row.experiment_id,
    )


def _ti(row: Row[Any]) -> TaskInstance:
    return TaskInstance(
        dag_id=row.dag_id, run_id=row.run_id, task_id=row.task_id, map_index=row.map_index, state=row.state,
        try_number=row.try_number, max_tries=row.max_tries, priority_weight=row.priority_weight, pool=row.pool,
        pool_slots=row.pool_slots, operator=row.operator, queued_at=from_ms(row.queued_at),
        start_date=from_ms(row.start_date), end_date=from_ms(row.end_date),
        next_retry_at=from_ms(row.next_retry_at), heartbeat_at=from_ms(row.heartbeat_at), hostname=row.hostname,
        pid=row.pid, token=row.token, tracking_run_id=row.tracking_run_id, note=row.note,
    )


def _try(row: Row[Any]) -> TaskTry:
    return TaskTry(
        dag_id=row.dag_id, run_id=row.run_id, task_id=row.task_id, map_index=row.map_index,
        try_number=row.try_number, state=row.state, start_date=from_ms(row.start_date),
        end_date=from_ms(row.end_date), hostname=row.hostname, pid=row.pid, tracking_run_id=row.tracking_run_id,
        log_path=row.log_path, log_artifact=row.log_artifact,
    )


def _output(row: Row[Any]) -> TaskOutput:
    return TaskOutput(
        dag_id=row.dag_id, run_id=row.run_id, task_id=row.task_id, map_index=row.map_index, key=row.key,
        serializer=row.serializer, data=row.data, uri=row.uri, size_bytes=row.size_bytes, length=row.length,
    )


def _ti_where(dag_id: str, run_id: str, key: TIKey) -> Any:
    return and_(
        task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
        task_instances.c.task_id == key[0], task_instances.c.map_index == key[1],
    )


def _state_is(expected: str | None) -> Any:
    return task_instances.c.state.is_(None) if expected is None else task_instances.c.state == expected


class SqlPipelineStore:
    """See :class:`trackflow.store.pipeline_base.PipelineStore` for the contract."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # DAGs -------------------------------------------------------------------------------------
    def sync_dags(self, specs: Sequence[Mapping[str, Any]], import_errors_by_file: Mapping[str, str],
                  parsed_files: Sequence[str] | None, now: datetime, paused_by_default: bool = False) -> None:
        now_ms = to_ms(now)
        with self.db.write() as conn:
            existing = {r.dag_id: r for r in conn.execute(select(dags.c.dag_id, dags.c.spec_hash, dags.c.fileloc))}
            seen: set[str] = set()
            for spec in specs:
                dag_id = spec["dag_id"]
                seen.add(dag_id)
                text = json.dumps(spec, sort_keys=True, default=str)
                digest = hashlib.sha256(text.encode()).hexdigest()
                if dag_id in existing:
                    values: dict[str, Any] = {"is_active": True, "last_parsed": now_ms,
                                              "fileloc": spec.get("fileloc", "")}
                    if existing[dag_id].spec_hash != digest:
                        values.update(spec=text, spec_hash=digest)
                    conn.execute(update(dags).where(dags.c.dag_id == dag_id).values(**values))
                else:
                    paused = spec.get("is_paused_upon_creation")
                    conn.execute(insert(dags).values(
                        dag_id=dag_id, fileloc=spec.get("fileloc", ""), is_active=True, last_parsed=now_ms,
                        is_paused=paused_by_default if paused is None else bool(paused), spec=text, spec_hash=digest,
                    ))
            if parsed_files is not None:
                files = list(parsed_files)
                gone = [d for d, r in existing.items() if d not in seen and r.fileloc in files]
                if gone:
                    conn.execute(update(dags).where(dags.c.dag_id.in_(gone)).values(is_active=False))
                if files:
                    conn.execute(delete(import_errors).where(import_errors.c.fileloc.in_(files)))
            for fileloc, trace in import_errors_by_file.items():
                conn.execute(delete(import_errors).where(import_errors.c.fileloc == fileloc))
                conn.execute(insert(import_errors).values(fileloc=fileloc, stacktrace=trace, timestamp=now_ms))

    def get_dag(self, dag_id: str) -> DagRecord:
        with self.db.read() as conn:
            row = conn.execute(select(dags).where(dags.c.dag_id == dag_id)).first()
        if row is None:
            raise NotFound(f"DAG {dag_id!r} not found")
        return _dag(row)

    def list_dags(self, include_inactive: bool = False) -> list[DagRecord]:
        query = select(dags).order_by(dags.c.dag_id)
        if not include_inactive:
            query = query.where(dags.c.is_active.is_(True))
        with self.db.read() as conn:
            return [_dag(r) for r in conn.execute(query)]

    def set_paused(self, dag_id: str, paused: bool) -> DagRecord:
        with self.db.write() as conn:
            if conn.execute(update(dags).where(dags.c.dag_id == dag_id).values(is_paused=paused)).rowcount == 0:
                raise NotFound(f"DAG {dag_id!r} not found")
            return _dag(conn.execute(select(dags).where(dags.c.dag_id == dag_id)).one())

    def list_import_errors(self) -> list[ImportErrorRecord]:
        with self.db.read() as conn:
            rows = conn.execute(select(import_errors).order_by(import_errors.c.fileloc)).all()
        return [ImportErrorRecord(r.fileloc, r.stacktrace, _req(r.timestamp)) for r in rows]

    # DAG runs ---------------------------------------------------------------------------------
    def create_dag_run(self, run: DagRun, task_instances_: Sequence[NewTaskInstance]) -> DagRun:
        try:
            with self.db.write() as conn:
                taken = conn.execute(select(dag_runs.c.id).where(
                    dag_runs.c.dag_id == run.dag_id, dag_runs.c.run_id == run.run_id)).first()
                if taken is not None:
                    raise AlreadyExists(f"DAG run {run.run_id!r} of DAG {run.dag_id!r} already exists")
                if run.run_type in ("scheduled", "backfill"):
                    same = conn.execute(select(dag_runs.c.run_id).where(
                        dag_runs.c.dag_id == run.dag_id, dag_runs.c.logical_date == to_ms(run.logical_date),
                        dag_runs.c.run_type.in_(("scheduled", "backfill")))).first()
                    if same is not None:
                        raise AlreadyExists(
                            f"DAG {run.dag_id!r} already has run {same.run_id!r} for logical date "
                            f"{run.logical_date.isoformat()}"
                        )
                conn.execute(insert(dag_runs).values(
                    dag_id=run.dag_id, run_id=run.run_id, state=run.state, run_type=run.run_type,
                    logical_date=to_ms(run.logical_date), data_interval_start=to_ms(run.data_interval_start),
                    data_interval_end=to_ms(run.data_interval_end), run_after=to_ms(run.run_after),
                    conf=json.dumps(run.conf, default=str), queued_at=to_ms(run.queued_at),
                    start_date=to_ms(run.start_date), end_date=to_ms(run.end_date),
                    tracking_run_id=run.tracking_run_id, experiment_id=run.experiment_id,
                ))
                if task_instances_:
                    conn.execute(insert(task_instances), [
                        {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": t.task_id, "map_index": t.map_index,
                         "state": None, "try_number": 0, "max_tries": t.max_tries,
                         "priority_weight": t.priority_weight, "pool": t.pool, "pool_slots": t.pool_slots,
                         "operator": t.operator}
                        for t in task_instances_
                    ])
        except IntegrityError:
            raise AlreadyExists(f"DAG run {run.run_id!r} of DAG {run.dag_id!r} already exists") from None
        return run

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun:
        with self.db.read() as conn:
            row = conn.execute(select(dag_runs).where(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)).first()
        if row is None:
            raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
        return _run(row)

    def list_dag_runs(self, dag_id: str | None = None, states: Sequence[str] | None = None,
                      limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[DagRun]:
        query = select(dag_runs)
        if dag_id is not None:
            query = query.where(dag_runs.c.dag_id == dag_id)
        if states is not None:
            query = query.where(dag_runs.c.state.in_(list(states)))
        order = (dag_runs.c.logical_date.desc(), dag_runs.c.id.desc()) if newest_first else (
            dag_runs.c.logical_date, dag_runs.c.id)
        with self.db.read() as conn:
            return [_run(r) for r in conn.execute(query.order_by(*order).limit(limit).offset(offset))]

    def last_automated_run(self, dag_id: str) -> DagRun | None:
        query = (select(dag_runs).where(dag_runs.c.dag_id == dag_id,
                                        dag_runs.c.run_type.in_(("scheduled", "backfill")))
                 .order_by(dag_runs.c.logical_date.desc()).limit(1))
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run(row)

    def update_dag_run(self, dag_id: str, run_id: str, state: str, now: datetime,
                       tracking_run_id: str | None = None, experiment_id: str | None = None) -> DagRun:
        values: dict[str, Any] = {"state": state}
        if state == "running":
            values["start_date"] = func.coalesce(dag_runs.c.start_date, to_ms(now))
            values["end_date"] = None
        elif state in FINISHED_RUN_STATES:
            values["end_date"] = to_ms(now)
        elif state == "queued":
            values["end_date"] = None
            values["queued_at"] = to_ms(now)
        if tracking_run_id is not None:
            values["tracking_run_id"] = tracking_run_id
        if experiment_id is not None:
            values["experiment_id"] = experiment_id
        where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
        with self.db.write() as conn:
            if conn.execute(update(dag_runs).where(where).values(**values)).rowcount == 0:
                raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
            return _run(conn.execute(select(dag_runs).where(where)).one())

    # Task instances ---------------------------------------------------------------------------
    def list_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        query = (select(task_instances)
                 .where(task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id)
                 .order_by(task_instances.c.task_id, task_instances.c.map_index))
        with self.db.read() as conn:
            return [_ti(r) for r in conn.execute(query)]

    def get_task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance:
        with self.db.read() as conn:
            row = conn.execute(select(task_instances).where(_ti_where(dag_id, run_id, (task_id, map_index)))).first()
        if row is None:
            suffix = "" if map_index < 0 else f"[{map_index}]"
            raise NotFound(f"task instance {task_id}{suffix} of run {run_id!r} of DAG {dag_id!r} not found")
        return _ti(row)

    def list_task_instances_in_states(self, states: Sequence[str]) -> list[TaskInstance]:
        with self.db.read() as conn:
            query = select(task_instances).where(task_instances.c.state.in_(list(states)))
            return [_ti(r) for r in conn.execute(query)]

    def apply_transitions(self, dag_id: str, run_id: str, transitions: Sequence[Transition],
                          now: datetime) -> list[TIKey]:
        moved: list[TIKey] = []
        if not transitions:
            return moved
        now_ms = to_ms(now)
        with self.db.write() as conn:
            for t in transitions:
                values: dict[str, Any] = {"state": t.state}
                if t.state in ("success", "failed", "skipped", "upstream_failed", "removed"):
                    values["end_date"] = now_ms
                    values["start_date"] = func.coalesce(task_instances.c.start_date, now_ms)
                if t.next_retry_at is not None:
                    values["next_retry_at"] = to_ms(t.next_retry_at)
                if t.note is not None:
                    values["note"] = t.note
                if t.state in ("failed", "up_for_retry"):
                    values["token"] = None
                where = and_(_ti_where(dag_id, run_id, t.key), _state_is(t.expected))
                if conn.execute(update(task_instances).where(where).values(**values)).rowcount:
                    moved.append(t.key)
                    if t.state in ("failed", "up_for_retry", "success"):
                        conn.execute(update(task_tries).where(
                            task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id,
                            task_tries.c.task_id == t.key[0], task_tries.c.map_index == t.key[1],
                            task_tries.c.state == "running",
                        ).values(state=t.state, end_date=now_ms))
        return moved

    def expand_task(self, dag_id: str, run_id: str, task_id: str, length: int | None) -> None:
        with self.db.write() as conn:
            row = conn.execute(select(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1)))).first()
            if row is None or row.state is not None:
                return  # already expanded or decided by someone else
            if length is None or length == 0:
                conn.execute(update(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1))).values(
                    state="failed" if length is None else "skipped",
                    note="cannot map over a value that is not a list or dict" if length is None else None,
                ))
                return
            base = {c: getattr(row, c) for c in ("max_tries", "priority_weight", "pool", "pool_slots", "operator")}
            conn.execute(delete(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1))))
            conn.execute(insert(task_instances), [
                {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": i, "state": None,
                 "try_number": 0, **base}
                for i in range(length)
            ])

    def queue_task_instances(self, dag_id: str, run_id: str, keys: Sequence[TIKey],
                             now: datetime) -> list[TaskInstance]:
        out: list[TaskInstance] = []
        with self.db.write() as conn:
            for key in keys:
                token = uuid.uuid4().hex
                where = and_(_ti_where(dag_id, run_id, key),
                             or_(task_instances.c.state.is_(None),
                                 task_instances.c.state.in_(("scheduled", "up_for_retry"))))
                res = conn.execute(update(task_instances).where(where).values(
                    state="queued", try_number=task_instances.c.try_number + 1, queued_at=to_ms(now), token=token,
                    next_retry_at=None, heartbeat_at=None, pid=None, hostname=None, end_date=None,
                ))
                if res.rowcount:
                    out.append(_ti(conn.execute(select(task_instances).where(_ti_where(dag_id, run_id, key))).one()))
        return out

    def start_try(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime, hostname: str,
                  pid: int, log_path: str, tracking_run_id: str | None) -> TaskInstance:
        now_ms = to_ms(now)
        with self.db.write() as conn:
            where = and_(_ti_where(dag_id, run_id, key), task_instances.c.state == "queued",
                         task_instances.c.token == token)
            res = conn.execute(update(task_instances).where(where).values(
                state="running", start_date=now_ms, end_date=None, heartbeat_at=now_ms, hostname=hostname, pid=pid,
                tracking_run_id=tracking_run_id, note=None,
            ))
            if not res.rowcount:
                raise Conflict(f"task instance {key[0]} of run {run_id!r} is not queued for this process any more")
            row = conn.execute(select(task_instances).where(_ti_where(dag_id, run_id, key))).one()
            conn.execute(delete(task_outputs).where(
                task_outputs.c.dag_id == dag_id, task_outputs.c.run_id == run_id,
                task_outputs.c.task_id == key[0], task_outputs.c.map_index == key[1]))
            conn.execute(delete(task_tries).where(
                task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == key[0],
                task_tries.c.map_index == key[1], task_tries.c.try_number == row.try_number))
            conn.execute(insert(task_tries).values(
                dag_id=dag_id, run_id=run_id, task_id=key[0], map_index=key[1], try_number=row.try_number,
                state="running", start_date=now_ms, hostname=hostname, pid=pid, tracking_run_id=tracking_run_id,
                log_path=log_path,
            ))
            return _ti(row)

    def heartbeat(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime) -> bool:
        where = and_(_ti_where(dag_id, run_id, key), task_instances.c.state == "running",
                     task_instances.c.token == token)
        with self.db.write() as conn:
            return bool(conn.execute(update(task_instances).where(where).values(heartbeat_at=to_ms(now))).rowcount)

    def finish_try(self, dag_id: str, run_id: str, key: TIKey, token: str, state: str, now: datetime,
                   next_retry_at: datetime | None = None, skip_task_ids: Sequence[str] = (),
                   note: str | None = None) -> bool:
        now_ms = to_ms(now)
        with self.db.write() as conn:
            where = and_(_ti_where(dag_id, run_id, key), task_instances.c.state == "running",
                         task_instances.c.token == token)
            row = conn.execute(select(task_instances.c.try_number).where(where)).first()
            if row is None:
                return False
            conn.execute(update(task_instances).where(where).values(
                state=state, end_date=now_ms, next_retry_at=to_ms(next_retry_at), note=note,
                token=None if state != "success" else token,
            ))
            conn.execute(update(task_tries).where(
                task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == key[0],
                task_tries.c.map_index == key[1], task_tries.c.try_number == row.try_number,
            ).values(state=state, end_date=now_ms))
            if skip_task_ids:
                conn.execute(update(task_instances).where(
                    task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                    task_instances.c.task_id.in_(list(skip_task_ids)),
                    or_(task_instances.c.state.is_(None), task_instances.c.state == "scheduled"),
                ).values(state="skipped", start_date=now_ms, end_date=now_ms))
            return True

    def set_log_artifact(self, dag_id: str, run_id: str, key: TIKey, try_number: int, location: str) -> None:
        with self.db.write() as conn:
            conn.execute(update(task_tries).where(
                task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == key[0],
                task_tries.c.map_index == key[1], task_tries.c.try_number == try_number,
            ).values(log_artifact=location))

    def list_tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[TaskTry]:
        query = select(task_tries).where(
            task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == task_id,
            task_tries.c.map_index == map_index).order_by(task_tries.c.try_number)
        with self.db.read() as conn:
            return [_try(r) for r in conn.execute(query)]

    def clear_task_instances(self, dag_id: str, run_id: str, task_ids: Sequence[str],
                             retries: Mapping[str, int], now: datetime) -> list[str]:
        cleared: list[str] = []
        with self.db.write() as conn:
            run_where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
            if conn.execute(select(dag_runs.c.id).where(run_where)).first() is None:
                raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
            for task_id in task_ids:
                rows = conn.execute(select(task_instances).where(
                    task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                    task_instances.c.task_id == task_id)).all()
                if not rows:
                    continue
                cleared.append(task_id)
                mapped = any(r.map_index >= 0 for r in rows)
                try_number = max(r.try_number for r in rows)
                extra = retries.get(task_id, 0)
                where = and_(task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                             task_instances.c.task_id == task_id)
                if mapped:
                    conn.execute(delete(task_instances).where(where))
                    base = rows[0]
                    conn.execute(insert(task_instances).values(
                        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=-1, state=None,
                        try_number=try_number, max_tries=try_number + extra, priority_weight=base.priority_weight,
                        pool=base.pool, pool_slots=base.pool_slots, operator=base.operator,
                    ))
                else:
                    conn.execute(update(task_instances).where(where).values(
                        state=None, max_tries=task_instances.c.try_number + extra, token=None, next_retry_at=None,
                        end_date=None, heartbeat_at=None, note=None,
                    ))
                conn.execute(delete(task_outputs).where(
                    task_outputs.c.dag_id == dag_id, task_outputs.c.run_id == run_id,
                    task_outputs.c.task_id == task_id))
            if cleared:
                conn.execute(update(dag_runs).where(run_where).values(state="queued", end_date=None,
                                                                       queued_at=to_ms(now)))
        return cleared

    def mark_task_instances(self, dag_id: str, run_id: str, task_ids: Sequence[str], state: str,
                            now: datetime) -> list[str]:
        if state not in ("success", "failed", "skipped"):
            raise InvalidInput(f"cannot mark task instances as {state!r}: use success, failed or skipped")
        now_ms = to_ms(now)
        with self.db.write() as conn:
            run_where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
            run = conn.execute(select(dag_runs.c.state).where(run_where)).first()
            if run is None:
                raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
            marked = []
            for task_id in task_ids:
                res = conn.execute(update(task_instances).where(
                    task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                    task_instances.c.task_id == task_id,
                ).values(state=state, token=None, end_date=now_ms,
                         start_date=func.coalesce(task_instances.c.start_date, now_ms)))
                if res.rowcount:
                    marked.append(task_id)
            if marked and run.state in FINISHED_RUN_STATES:
                conn.execute(update(dag_runs).where(run_where).values(state="running", end_date=None))
        return marked

    # Outputs and lineage ----------------------------------------------------------------------
    def put_output(self, output: TaskOutput, now: datetime) -> None:
        with self.db.write() as conn:
            conn.execute(delete(task_outputs).where(
                task_outputs.c.dag_id == output.dag_id, task_outputs.c.run_id == output.run_id,
                task_outputs.c.task_id == output.task_id, task_outputs.c.map_index == output.map_index,
                task_outputs.c.key == output.key))
            conn.execute(insert(task_outputs).values(
                dag_id=output.dag_id, run_id=output.run_id, task_id=output.task_id, map_index=output.map_index,
                key=output.key, serializer=output.serializer, data=output.data, uri=output.uri,
                size_bytes=output.size_bytes, length=output.length, created_at=to_ms(now),
            ))

    def get_outputs(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> list[TaskOutput]:
        query = select(task_outputs).where(
            task_outputs.c.dag_id == dag_id, task_outputs.c.run_id == run_id, task_outputs.c.task_id == task_id,
            task_outputs.c.key == key).order_by(task_outputs.c.map_index)
        with self.db.read() as conn:
            return [_output(r) for r in conn.execute(query)]

    def output_lengths(self, dag_id: str, run_id: str) -> dict[tuple[str, str], int | None]:
        query = select(task_outputs.c.task_id, task_outputs.c.key, task_outputs.c.map_index,
                       task_outputs.c.length).where(task_outputs.c.dag_id == dag_id,
                                                    task_outputs.c.run_id == run_id)
        out: dict[tuple[str, str], int | None] = {}
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        by_key: dict[tuple[str, str], list[Any]] = {}
        for r in rows:
            by_key.setdefault((r.task_id, r.key), []).append(r)
        for key, items in by_key.items():
            if len(items) == 1 and items[0].map_index < 0:
                out[key] = items[0].length
            else:  # a mapped task's outputs form one list, one item per map index
                out[key] = len(items)
        return out

    def record_lineage(self, edges: Sequence[LineageEdge]) -> None:
        if not edges:
            return
        with self.db.write() as conn:
            for e in edges:
                where = and_(
                    task_lineage.c.dag_id == e.dag_id, task_lineage.c.run_id == e.run_id,
                    task_lineage.c.producer_task_id == e.producer_task_id,
                    task_lineage.c.producer_map_index == e.producer_map_index, task_lineage.c.key == e.key,
                    task_lineage.c.consumer_task_id == e.consumer_task_id,
                    task_lineage.c.consumer_map_index == e.consumer_map_index)
                if conn.execute(select(task_lineage.c.key).where(where)).first() is None:
                    conn.execute(insert(task_lineage).values(
                        dag_id=e.dag_id, run_id=e.run_id, producer_task_id=e.producer_task_id,
                        producer_map_index=e.producer_map_index, key=e.key, consumer_task_id=e.consumer_task_id,
                        consumer_map_index=e.consumer_map_index))

    def get_lineage(self, dag_id: str, run_id: str) -> list[LineageEdge]:
        query = select(task_lineage).where(task_lineage.c.dag_id == dag_id, task_lineage.c.run_id == run_id).order_by(
            task_lineage.c.producer_task_id, task_lineage.c.consumer_task_id, task_lineage.c.consumer_map_index)
        with self.db.read() as conn:
            return [LineageEdge(r.dag_id, r.run_id, r.producer_task_id, r.producer_map_index, r.key,
                                r.consumer_task_id, r.consumer_map_index) for r in conn.execute(query)]

    # Pools and capacity -----------------------------------------------------------------------
    def set_pool(self, name: str, slots: int, description: str = "") -> Pool:
        if not name or len(name) > 256:
            raise InvalidInput(f"invalid pool name {name!r}")
        if slots < 0:
            raise InvalidInput(f"pool {name!r}: slots must be >= 0, got {slots}")
        with self.db.write() as conn:
            if conn.execute(update(pools).where(pools.c.name == name).values(
                    slots=slots, description=description)).rowcount == 0:
                conn.execute(insert(pools).values(name=name, slots=slots, description=description))
        return Pool(name, slots, description)

    def list_pools(self) -> list[Pool]:
        used, _ = self.active_counts()
        with self.db.read() as conn:
            rows = conn.execute(select(pools).order_by(pools.c.name)).all()
        return [Pool(r.name, r.slots, r.description, used.get(r.name, 0)) for r in rows]

    def delete_pool(self, name: str) -> None:
        if name == "default_pool":
            raise InvalidInput("the default_pool cannot be deleted")
        with self.db.write() as conn:
            if conn.execute(delete(pools).where(pools.c.name == name)).rowcount == 0:
                raise NotFound(f"pool {name!r} not found")

    def active_counts(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        active = task_instances.c.state.in_(ACTIVE_TI_STATES)
        with self.db.read() as conn:
            by_pool = conn.execute(select(task_instances.c.pool, func.sum(task_instances.c.pool_slots))
                                   .where(active).group_by(task_instances.c.pool)).all()
            by_run = conn.execute(select(task_instances.c.dag_id, task_instances.c.run_id, func.count())
                                  .where(active).group_by(task_instances.c.dag_id, task_instances.c.run_id)).all()
        return ({r[0]: int(r[1]) for r in by_pool}, {(r[0], r[1]): int(r[2]) for r in by_run})

    def warm_up(self) -> None:
        """Compile the task processes' hot statements once (no rows change), so that forked
        task processes inherit them from the engine's statement cache."""
        ghost = "\x00warm-up"
        now = datetime.now(UTC)
        try:
            self.start_try(ghost, ghost, (ghost, -1), ghost, now, "", 0, "", None)
        except Conflict:
            pass
        self.heartbeat(ghost, ghost, (ghost, -1), ghost, now)
        self.finish_try(ghost, ghost, (ghost, -1), ghost, "success", now)
        try:
            self.get_dag_run(ghost, ghost)
        except NotFound:
            pass
        self.get_outputs(ghost, ghost, ghost)

    def pool_slots(self) -> dict[str, int]:
        with self.db.read() as conn:
            return {r.name: r.slots for r in conn.execute(select(pools.c.name, pools.c.slots))}
