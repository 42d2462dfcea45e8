"""SQL implementation of the pipeline store (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from trackflow.entities.pipelines import (
    ACTIVE_TI,
    FINISHED_RUN,
    FINISHED_TI,
    MARKABLE,
    DagRecord,
    DagRun,
    ImportErrorRecord,
    LineageEdge,
    Pool,
    RunState,
    TaskInstance,
    TaskOutput,
    TaskTry,
    TIState,
)
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.store.pipeline_base import Deferral, GridCell, NewTaskInstance, TIKey, Transition, Within
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_tables import (
    dag_runs,
    dags,
    import_errors,
    pools,
    scheduler_lease,
    task_instances,
    task_lineage,
    task_outputs,
    task_tries,
    triggers,
)

ACTIVE_TI_STATES = tuple(sorted(ACTIVE_TI))  # in a fixed order: one SQL text for IN
# A try ends (its task_tries row) with these task-instance states.
_ENDS_TRY = frozenset({TIState.SUCCESS, TIState.FAILED, TIState.UP_FOR_RETRY})


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
        partition_key=row.partition_key, partition_date=from_ms(row.partition_date),
    )


# TaskInstance fields by position in a task_instances row (every field is a column of the same
# name; times are epoch ms in the row): the API and ``dags test`` read whole runs of them.
_TI_COLUMNS = [c.name for c in task_instances.c]
_TI_FIELDS = [_TI_COLUMNS.index(f.name) for f in dataclasses.fields(TaskInstance)]
_TI_TIMES = frozenset(_TI_COLUMNS.index(n) for n in ("queued_at", "start_date", "end_date", "next_retry_at",
                                                     "heartbeat_at", "trigger_timeout", "reschedule_start"))


def _ti(row: Row[Any]) -> TaskInstance:
    values: list[Any] = [(from_ms(row[i]) if i in _TI_TIMES and row[i] is not None else row[i]) for i in _TI_FIELDS]
    return TaskInstance(*values)


def _presence(holder: str) -> str:
    """The lease-table row that says scheduler ``holder`` is alive (names are 64 characters at
    most: the holder's random suffix identifies it)."""
    return "alive:" + holder.rsplit(":", 1)[-1][:58]


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


# The statements of the hot paths (scheduler ticks, task processes) are built once, with
# bound parameters: building a SQLAlchemy statement costs more than SQLite takes to run it,
# and a prebuilt one is found in the engine's compiled cache at once. They are immutable.
def _key_params(dag_id: str, run_id: str, key: TIKey) -> dict[str, Any]:
    return {"k_dag_id": dag_id, "k_run_id": run_id, "k_task_id": key[0], "k_map_index": key[1]}


_TI = task_instances.c
_TRY = task_tries.c
_OUT = task_outputs.c
_RUN_KEY = and_(dag_runs.c.dag_id == bindparam("k_dag_id"), dag_runs.c.run_id == bindparam("k_run_id"))
_TI_KEY = and_(_TI.dag_id == bindparam("k_dag_id"), _TI.run_id == bindparam("k_run_id"),
               _TI.task_id == bindparam("k_task_id"), _TI.map_index == bindparam("k_map_index"))
_TI_OWNED = and_(_TI_KEY, _TI.state == TIState.RUNNING, _TI.token == bindparam("k_token"))
_TRY_KEY = and_(_TRY.dag_id == bindparam("k_dag_id"), _TRY.run_id == bindparam("k_run_id"),
                _TRY.task_id == bindparam("k_task_id"), _TRY.map_index == bindparam("k_map_index"),
                _TRY.try_number == bindparam("k_try_number"))

_GET_DAG = select(dags).where(dags.c.dag_id == bindparam("k_dag_id"))
_DAG_HASHES = select(dags.c.dag_id, dags.c.spec_hash, dags.c.is_paused).where(dags.c.is_active.is_(True))
_GET_RUN = select(dag_runs).where(_RUN_KEY)
_GET_TI = select(task_instances).where(_TI_KEY)
_LIST_TIS = (select(task_instances)
             .where(_TI.dag_id == bindparam("k_dag_id"), _TI.run_id == bindparam("k_run_id"))
             .order_by(_TI.task_id, _TI.map_index))
_TI_STATES = (select(_TI.task_id, _TI.map_index, _TI.state, _TI.try_number, _TI.max_tries, _TI.next_retry_at)
              .where(_TI.dag_id == bindparam("k_dag_id"), _TI.run_id == bindparam("k_run_id"))
              .order_by(_TI.task_id, _TI.map_index))
_TIS_IN_STATES = select(task_instances).where(_TI.state.in_(bindparam("k_states", expanding=True)))
# A sensor's next poke and a deferred task's resumption continue the same try (as Airflow):
# the try number moves on only for a new try.
_RESCHEDULED = _TI.state == TIState.UP_FOR_RESCHEDULE
_QUEUE_TI = update(task_instances).where(
    _TI_KEY, or_(_TI.state.is_(None), _TI.state.in_((TIState.SCHEDULED, TIState.UP_FOR_RETRY,
                                                     TIState.UP_FOR_RESCHEDULE)))).values(
    state=TIState.QUEUED, try_number=_TI.try_number + case((or_(_RESCHEDULED, _TI.next_method.is_not(None)), 0),
                                                           else_=1),
    reschedule_start=case((_RESCHEDULED, _TI.reschedule_start), else_=None),
    queued_at=bindparam("v_now"), token=bindparam("v_token"),
    next_retry_at=None, heartbeat_at=None, pid=None, hostname=None, end_date=None,
    queued_by=bindparam("v_queued_by"))
_RESUMING = or_(_TI.next_method.is_not(None), _TI.reschedule_start.is_not(None))
_CLAIM_TI = update(task_instances).where(
    _TI_KEY, _TI.state == TIState.QUEUED, _TI.token == bindparam("k_token")).values(
    state=TIState.RUNNING, start_date=case((_RESUMING, func.coalesce(_TI.start_date, bindparam("v_now"))),
                                           else_=bindparam("v_now")),
    end_date=None, heartbeat_at=bindparam("v_now"),
    hostname=bindparam("v_hostname"), pid=bindparam("v_pid"), tracking_run_id=bindparam("v_tracking_run_id"),
    note=None)
_RESUME_TRY = update(task_tries).where(_TRY_KEY).values(
    state=TIState.RUNNING, hostname=bindparam("v_hostname"), pid=bindparam("v_pid"), end_date=None)
_DELETE_TI_OUTPUTS = delete(task_outputs).where(
    _OUT.dag_id == bindparam("k_dag_id"), _OUT.run_id == bindparam("k_run_id"),
    _OUT.task_id == bindparam("k_task_id"), _OUT.map_index == bindparam("k_map_index"))
_DELETE_TRY = delete(task_tries).where(_TRY_KEY)
_INSERT_TRY = insert(task_tries)
_HEARTBEAT = update(task_instances).where(_TI_OWNED).values(heartbeat_at=bindparam("v_now"))
_OWNED_TRY_NUMBER = select(_TI.try_number, _TI.start_date, _TI.reschedule_start).where(_TI_OWNED)
_FINISH_TI = update(task_instances).where(_TI_OWNED).values(
    state=bindparam("v_state"), end_date=bindparam("v_now"), next_retry_at=bindparam("v_next_retry_at"),
    note=bindparam("v_note"), token=bindparam("v_token"), next_method=bindparam("v_next_method"),
    next_kwargs=bindparam("v_next_kwargs"), trigger_id=bindparam("v_trigger_id"),
    trigger_timeout=bindparam("v_trigger_timeout"), reschedule_start=bindparam("v_reschedule_start"),
    rendered_map_index=func.coalesce(bindparam("v_rendered_map_index"), _TI.rendered_map_index))
_FINISH_TRY = update(task_tries).where(_TRY_KEY).values(state=bindparam("v_state"), end_date=bindparam("v_now"))
_SKIP_TIS = update(task_instances).where(
    _TI.dag_id == bindparam("k_dag_id"), _TI.run_id == bindparam("k_run_id"),
    _TI.task_id.in_(bindparam("k_task_ids", expanding=True)),
    or_(_TI.state.is_(None), _TI.state == TIState.SCHEDULED),
).values(state=TIState.SKIPPED, start_date=bindparam("v_now"), end_date=bindparam("v_now"))
_END_RUNNING_TRY = update(task_tries).where(
    _TRY.dag_id == bindparam("k_dag_id"), _TRY.run_id == bindparam("k_run_id"),
    _TRY.task_id == bindparam("k_task_id"), _TRY.map_index == bindparam("k_map_index"), _TRY.state == TIState.RUNNING,
).values(state=bindparam("v_state"), end_date=bindparam("v_now"))
_GET_OUTPUTS = select(task_outputs).where(
    _OUT.dag_id == bindparam("k_dag_id"), _OUT.run_id == bindparam("k_run_id"),
    _OUT.task_id == bindparam("k_task_id"), _OUT.key == bindparam("k_key")).order_by(_OUT.map_index)
_DELETE_OUTPUT = delete(task_outputs).where(
    _OUT.dag_id == bindparam("k_dag_id"), _OUT.run_id == bindparam("k_run_id"),
    _OUT.task_id == bindparam("k_task_id"), _OUT.map_index == bindparam("k_map_index"),
    _OUT.key == bindparam("k_key"))
_INSERT_OUTPUT = insert(task_outputs)
_OUTPUT_LENGTHS = select(_OUT.task_id, _OUT.key, _OUT.map_index, _OUT.length).where(
    _OUT.dag_id == bindparam("k_dag_id"), _OUT.run_id == bindparam("k_run_id"))
_LINEAGE_EXISTS = select(task_lineage.c.key).where(
    task_lineage.c.dag_id == bindparam("dag_id"), task_lineage.c.run_id == bindparam("run_id"),
    task_lineage.c.producer_task_id == bindparam("producer_task_id"),
    task_lineage.c.producer_map_index == bindparam("producer_map_index"), task_lineage.c.key == bindparam("key"),
    task_lineage.c.consumer_task_id == bindparam("consumer_task_id"),
    task_lineage.c.consumer_map_index == bindparam("consumer_map_index"))
_INSERT_LINEAGE = insert(task_lineage)
_ACTIVE_BY_POOL = (select(_TI.pool, func.sum(_TI.pool_slots))
                   .where(_TI.state.in_(ACTIVE_TI_STATES)).group_by(_TI.pool))
_ACTIVE_BY_RUN = (select(_TI.dag_id, _TI.run_id, func.count())
                  .where(_TI.state.in_(ACTIVE_TI_STATES)).group_by(_TI.dag_id, _TI.run_id))
_POOL_SLOTS = select(pools.c.name, pools.c.slots)


# Clearing or marking a task instance drops what it waited on (its trigger is then orphaned,
# and the triggerer removes it).
_NO_DEFERRAL: dict[str, Any] = {"next_method": None, "next_kwargs": None, "trigger_id": None,
                                "trigger_timeout": None, "reschedule_start": None}


@functools.cache
def _list_runs_query(by_dag: bool, by_state: bool, newest_first: bool) -> Any:
    """The list_dag_runs statement of one shape (a handful of shapes exist: memoized)."""
    query = select(dag_runs)
    if by_dag:
        query = query.where(dag_runs.c.dag_id == bindparam("k_dag_id"))
    if by_state:
        query = query.where(dag_runs.c.state.in_(bindparam("k_states", expanding=True)))
    order = (dag_runs.c.logical_date.desc(), dag_runs.c.id.desc()) if newest_first else (
        dag_runs.c.logical_date, dag_runs.c.id)
    return query.order_by(*order).limit(bindparam("k_limit")).offset(bindparam("k_offset"))


@functools.cache
def _transition_statement(finished: bool, retry_at: bool, note: bool, drop_token: bool,
                          from_none: bool, with_token: bool = False) -> Any:
    """The apply_transitions UPDATE of one shape (memoized: 2**6 shapes at most)."""
    values: dict[str, Any] = {"state": bindparam("v_state")}
    if finished:
        values["end_date"] = bindparam("v_now")
        values["start_date"] = func.coalesce(_TI.start_date, bindparam("v_now"))
    if retry_at:
        values["next_retry_at"] = bindparam("v_next_retry_at")
    if note:
        values["note"] = bindparam("v_note")
    if drop_token:
        values["token"] = None
    expected = _TI.state.is_(None) if from_none else _TI.state == bindparam("k_expected")
    if with_token:  # the try read must still own the row: not cleared, marked or re-queued since
        return update(task_instances).where(_TI_KEY, expected, _TI.token == bindparam("k_token")).values(**values)
    return update(task_instances).where(_TI_KEY, expected).values(**values)


class SqlPipelineStore:
    """See :class:`trackflow.store.pipeline_base.PipelineStore` for the contract."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # DAGs -------------------------------------------------------------------------------------
    def sync_dags(self, specs: Sequence[Mapping[str, Any]], import_errors_by_file: Mapping[str, str],
                  parsed_files: Sequence[str] | None, now: datetime, paused_by_default: bool = False) -> None:
        # Several schedulers (PostgreSQL) parse the same folder: rows in one order, and a
        # DAG or import error another one inserted first means "read again and update".
        specs = sorted(specs, key=lambda spec: str(spec["dag_id"]))
        try:
            self._sync_dags(specs, import_errors_by_file, parsed_files, now, paused_by_default)
        except IntegrityError:
            self._sync_dags(specs, import_errors_by_file, parsed_files, now, paused_by_default)

    def _sync_dags(self, specs: Sequence[Mapping[str, Any]], import_errors_by_file: Mapping[str, str],
                   parsed_files: Sequence[str] | None, now: datetime, paused_by_default: bool) -> None:
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
            row = conn.execute(_GET_DAG, {"k_dag_id": dag_id}).first()
        if row is None:
            raise NotFound(f"DAG {dag_id!r} not found")
        return _dag(row)

    def dag_hashes(self) -> dict[str, tuple[str, bool]]:
        """dag_id -> (spec hash, is_paused) of every active DAG: lets a scheduler reuse the
        specs it already parsed (a spec changes exactly when its hash does)."""
        with self.db.read() as conn:
            return {r.dag_id: (r.spec_hash, bool(r.is_paused)) for r in conn.execute(_DAG_HASHES)}

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
    def create_dag_run(self, run: DagRun, task_instances_: Sequence[NewTaskInstance],
                       within: Within | None = None) -> DagRun:
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
                    partition_key=run.partition_key, partition_date=to_ms(run.partition_date),
                ))
                if task_instances_:
                    conn.execute(insert(task_instances), [
                        {"dag_id": run.dag_id, "run_id": run.run_id, "task_id": t.task_id, "map_index": t.map_index,
                         "state": None, "try_number": 0, "max_tries": t.max_tries,
                         "priority_weight": t.priority_weight, "pool": t.pool, "pool_slots": t.pool_slots,
                         "operator": t.operator}
                        for t in task_instances_
                    ])
                if within is not None:
                    within(conn)
        except IntegrityError:
            raise AlreadyExists(f"DAG run {run.run_id!r} of DAG {run.dag_id!r} already exists") from None
        return run

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun:
        with self.db.read() as conn:
            row = conn.execute(_GET_RUN, {"k_dag_id": dag_id, "k_run_id": run_id}).first()
        if row is None:
            raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
        return _run(row)

    def list_dag_runs(self, dag_id: str | None = None, states: Sequence[str] | None = None,
                      limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[DagRun]:
        query = _list_runs_query(dag_id is not None, states is not None, newest_first)
        params = {"k_dag_id": dag_id, "k_states": list(states or ()), "k_limit": limit, "k_offset": offset}
        with self.db.read() as conn:
            return [_run(r) for r in conn.execute(query, params)]

    def last_automated_run(self, dag_id: str) -> DagRun | None:
        query = (select(dag_runs).where(dag_runs.c.dag_id == dag_id,
                                        dag_runs.c.run_type.in_(("scheduled", "backfill")))
                 .order_by(dag_runs.c.logical_date.desc()).limit(1))
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _run(row)

    def recent_runs_by_dag(self, per_dag: int) -> dict[str, list[DagRun]]:
        ranked = select(dag_runs, func.row_number().over(
            partition_by=dag_runs.c.dag_id, order_by=(dag_runs.c.logical_date.desc(), dag_runs.c.id.desc()),
        ).label("rank")).subquery()
        query = select(ranked).where(ranked.c.rank <= per_dag).order_by(ranked.c.dag_id, ranked.c.rank)
        out: dict[str, list[DagRun]] = {}
        with self.db.read() as conn:
            for row in conn.execute(query):
                out.setdefault(row.dag_id, []).append(_run(row))
        return out

    def last_automated_dates(self) -> dict[str, datetime]:
        query = (select(dag_runs.c.dag_id, func.max(dag_runs.c.logical_date))
                 .where(dag_runs.c.run_type.in_(("scheduled", "backfill"))).group_by(dag_runs.c.dag_id))
        with self.db.read() as conn:
            return {dag_id: _req(ms) for dag_id, ms in conn.execute(query)}

    def update_dag_run(self, dag_id: str, run_id: str, state: RunState, now: datetime,
                       tracking_run_id: str | None = None, experiment_id: str | None = None) -> DagRun:
        run = self._write_dag_run(dag_id, run_id, None, state, now, tracking_run_id, experiment_id)
        assert run is not None
        return run

    def cas_dag_run(self, dag_id: str, run_id: str, expected: str, state: RunState, now: datetime) -> DagRun | None:
        return self._write_dag_run(dag_id, run_id, expected, state, now)

    def _write_dag_run(self, dag_id: str, run_id: str, expected: str | None, state: RunState, now: datetime,
                       tracking_run_id: str | None = None, experiment_id: str | None = None) -> DagRun | None:
        values: dict[str, Any] = {"state": state}
        if state == RunState.RUNNING:
            values["start_date"] = func.coalesce(dag_runs.c.start_date, to_ms(now))
            values["end_date"] = None
        elif state in FINISHED_RUN:
            values["end_date"] = to_ms(now)
        elif state == RunState.QUEUED:
            values["end_date"] = None
            values["queued_at"] = to_ms(now)
        if tracking_run_id is not None:
            values["tracking_run_id"] = tracking_run_id
        if experiment_id is not None:
            values["experiment_id"] = experiment_id
        where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
        guarded = where if expected is None else and_(where, dag_runs.c.state == expected)
        with self.db.write() as conn:
            if conn.execute(update(dag_runs).where(guarded).values(**values)).rowcount == 0:
                if conn.execute(select(dag_runs.c.id).where(where)).first() is None:
                    raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
                return None  # moved by someone else since it was read
            return _run(conn.execute(select(dag_runs).where(where)).one())

    # Task instances ---------------------------------------------------------------------------
    def list_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        with self.db.read() as conn:
            return [_ti(r) for r in conn.execute(_LIST_TIS, {"k_dag_id": dag_id, "k_run_id": run_id})]

    def list_task_instance_states(self, dag_id: str, run_id: str) -> list[
            tuple[str, int, str | None, int, int, datetime | None]]:
        """(task_id, map_index, state, try_number, max_tries, next_retry_at) of each task
        instance of the run, ordered as :meth:`list_task_instances`: what scheduling decisions
        need, without building full records (a scheduler reads large runs on every tick)."""
        with self.db.read() as conn:
            rows = conn.execute(_TI_STATES, {"k_dag_id": dag_id, "k_run_id": run_id}).all()
        return [(r[0], r[1], r[2], r[3], r[4], None if r[5] is None else from_ms(r[5])) for r in rows]

    def task_instance_grid(self, dag_id: str, run_ids: Sequence[str]) -> list[GridCell]:
        if not run_ids:
            return []
        query = select(_TI.run_id, _TI.task_id, _TI.map_index, _TI.state, _TI.try_number).where(
            _TI.dag_id == dag_id, _TI.run_id.in_(list(run_ids)))
        with self.db.read() as conn:
            return [GridCell(*r) for r in conn.execute(query)]

    def get_task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance:
        with self.db.read() as conn:
            row = conn.execute(_GET_TI, _key_params(dag_id, run_id, (task_id, map_index))).first()
        if row is None:
            suffix = "" if map_index < 0 else f"[{map_index}]"
            raise NotFound(f"task instance {task_id}{suffix} of run {run_id!r} of DAG {dag_id!r} not found")
        return _ti(row)

    def list_task_instances_in_states(self, states: Sequence[str]) -> list[TaskInstance]:
        with self.db.read() as conn:
            return [_ti(r) for r in conn.execute(_TIS_IN_STATES, {"k_states": list(states)})]

    def apply_transitions(self, dag_id: str, run_id: str, transitions: Sequence[Transition],
                          now: datetime) -> list[TIKey]:
        moved: list[TIKey] = []
        if not transitions:
            return moved
        now_ms = to_ms(now)
        with self.db.write() as conn:
            for t in transitions:
                statement = _transition_statement(
                    t.state in FINISHED_TI,
                    t.next_retry_at is not None, t.note is not None, t.state in (TIState.FAILED, TIState.UP_FOR_RETRY),
                    t.expected is None, t.token is not None)
                params = _key_params(dag_id, run_id, t.key)
                params.update(v_state=t.state, v_now=now_ms, v_next_retry_at=to_ms(t.next_retry_at), v_note=t.note,
                              k_expected=t.expected, k_token=t.token)
                if conn.execute(statement, params).rowcount:
                    moved.append(t.key)
                    if t.state in _ENDS_TRY:
                        conn.execute(_END_RUNNING_TRY, params)
        return moved

    def expand_task(self, dag_id: str, run_id: str, task_id: str, length: int | None) -> None:
        with self.db.write() as conn:
            row = conn.execute(select(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1)))).first()
            if row is None or row.state is not None:
                return  # already expanded or decided by someone else
            if length is None or length == 0:
                conn.execute(update(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1))).values(
                    state=TIState.FAILED if length is None else TIState.SKIPPED,
                    note="cannot map over a value that is not a list or dict" if length is None else None,
                ))
                return
            base = {c: getattr(row, c) for c in ("max_tries", "priority_weight", "pool", "pool_slots", "operator")}
            conn.execute(delete(task_instances).where(_ti_where(dag_id, run_id, (task_id, -1))))
            # The placeholder's try_number is 0 in a new run and, after a clear, the tries made
            # so far (max_tries counts from there): the instances go on counting from it.
            conn.execute(insert(task_instances), [
                {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "map_index": i, "state": None,
                 "try_number": row.try_number, **base}
                for i in range(length)
            ])

    def queue_task_instances(self, dag_id: str, run_id: str, keys: Sequence[TIKey],
                             now: datetime, queued_by: str | None = None) -> list[TaskInstance]:
        out: list[TaskInstance] = []
        now_ms = to_ms(now)
        with self.db.write() as conn:
            for key in keys:
                params = _key_params(dag_id, run_id, key)
                params.update(v_now=now_ms, v_token=uuid.uuid4().hex, v_queued_by=queued_by)
                if conn.execute(_QUEUE_TI, params).rowcount:
                    out.append(_ti(conn.execute(_GET_TI, params).one()))
        return out

    def start_try(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime, hostname: str,
                  pid: int, log_path: str, tracking_run_id: str | None) -> TaskInstance:
        now_ms = to_ms(now)
        params = _key_params(dag_id, run_id, key)
        params.update(k_token=token, v_now=now_ms, v_hostname=hostname, v_pid=pid, v_tracking_run_id=tracking_run_id)
        with self.db.write() as conn:
            if not conn.execute(_CLAIM_TI, params).rowcount:
                raise Conflict(f"task instance {key[0]} of run {run_id!r} is not queued for this process any more")
            row = conn.execute(_GET_TI, params).one()
            params["k_try_number"] = row.try_number
            ti = _ti(row)
            if ti.resumes and conn.execute(_RESUME_TRY, params).rowcount:
                return ti  # the same try goes on: its values and its try record stay
            conn.execute(_DELETE_TI_OUTPUTS, params)
            conn.execute(_DELETE_TRY, params)
            conn.execute(_INSERT_TRY, {
                "dag_id": dag_id, "run_id": run_id, "task_id": key[0], "map_index": key[1],
                "try_number": row.try_number, "state": TIState.RUNNING, "start_date": now_ms, "hostname": hostname,
                "pid": pid, "tracking_run_id": tracking_run_id, "log_path": log_path,
            })
            return ti

    def heartbeat(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime) -> bool:
        params = _key_params(dag_id, run_id, key)
        params.update(k_token=token, v_now=to_ms(now))
        with self.db.write() as conn:
            return bool(conn.execute(_HEARTBEAT, params).rowcount)

    def finish_try(self, dag_id: str, run_id: str, key: TIKey, token: str, state: TIState, now: datetime,
                   next_retry_at: datetime | None = None, skip_task_ids: Sequence[str] = (),
                   note: str | None = None, within: Within | None = None, deferral: Deferral | None = None,
                   skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
        if (state == TIState.DEFERRED) != (deferral is not None):
            raise InvalidInput("a task instance defers with a trigger, and only then")
        params = _key_params(dag_id, run_id, key)
        params.update(k_token=token, v_state=state, v_now=to_ms(now), v_next_retry_at=to_ms(next_retry_at),
                      v_note=note, v_token=None if state != TIState.SUCCESS else token,
                      k_task_ids=list(skip_task_ids), v_next_method=None, v_next_kwargs=None, v_trigger_id=None,
                      v_trigger_timeout=None, v_reschedule_start=None,
                      v_rendered_map_index=None if rendered_map_index is None else rendered_map_index[:250])
        with self.db.write() as conn:
            row = conn.execute(_OWNED_TRY_NUMBER, params).first()
            if row is None:
                return False
            params["k_try_number"] = row.try_number
            if state == TIState.UP_FOR_RESCHEDULE:  # the first poke of the try is its sensor's clock
                params["v_reschedule_start"] = row.reschedule_start or row.start_date
            if deferral is not None:
                trigger_id = conn.execute(insert(triggers).values(
                    classpath=deferral.classpath, kwargs=deferral.trigger_kwargs, created_at=to_ms(now),
                ).returning(triggers.c.id)).scalar_one()
                params.update(v_next_method=deferral.next_method, v_next_kwargs=deferral.next_kwargs,
                              v_trigger_id=trigger_id, v_trigger_timeout=to_ms(deferral.timeout_at))
            conn.execute(_FINISH_TI, params)
            conn.execute(_FINISH_TRY, params)
            if skip_task_ids:
                conn.execute(_SKIP_TIS, params)
            if skip_at_own_index:
                conn.execute(_SKIP_TIS.where(_TI.map_index == bindparam("k_map_index")),
                             {**params, "k_task_ids": list(skip_at_own_index)})
            if within is not None:
                within(conn)
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
                             retries: Mapping[str, int], now: datetime) -> list[TaskInstance]:
        before: list[TaskInstance] = []
        now_ms = to_ms(now)
        with self.db.write() as conn:
            run_where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
            # The run's row first (PostgreSQL: waits while a scheduler holds the run, see
            # claim_runs), then its task instances: the order every writer of both keeps.
            if conn.execute(select(dag_runs.c.id).where(run_where).with_for_update(key_share=True)).first() is None:
                raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
            for task_id in task_ids:
                rows = conn.execute(select(task_instances).where(
                    task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                    task_instances.c.task_id == task_id)).all()
                if not rows:
                    continue
                before.extend(_ti(r) for r in rows)
                mapped = any(r.map_index >= 0 for r in rows)
                try_number = max(r.try_number for r in rows)
                extra = retries.get(task_id, 0)
                where = and_(task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                             task_instances.c.task_id == task_id)
                # A live try is fenced: its token goes, and its try row ends here.
                conn.execute(update(task_tries).where(
                    task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == task_id,
                    task_tries.c.state == TIState.RUNNING).values(state=TIState.FAILED, end_date=now_ms))
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
                        start_date=None, end_date=None, heartbeat_at=None, note=None, queued_at=None, **_NO_DEFERRAL,
                    ))
                conn.execute(delete(task_outputs).where(
                    task_outputs.c.dag_id == dag_id, task_outputs.c.run_id == run_id,
                    task_outputs.c.task_id == task_id))
            if before:
                conn.execute(update(dag_runs).where(run_where).values(state=RunState.QUEUED, end_date=None,
                                                                       queued_at=now_ms))
        return before

    def mark_task_instances(self, dag_id: str, run_id: str, task_ids: Sequence[str], state: TIState,
                            now: datetime) -> list[TaskInstance]:
        if state not in MARKABLE:
            raise InvalidInput(f"cannot mark task instances as {state!r}: use success, failed or skipped")
        now_ms = to_ms(now)
        with self.db.write() as conn:
            run_where = and_(dag_runs.c.dag_id == dag_id, dag_runs.c.run_id == run_id)
            # The run's row first, as in clear_task_instances.
            run = conn.execute(select(dag_runs.c.state).where(run_where).with_for_update(key_share=True)).first()
            if run is None:
                raise NotFound(f"DAG run {run_id!r} of DAG {dag_id!r} not found")
            before: list[TaskInstance] = []
            for task_id in task_ids:
                where = and_(task_instances.c.dag_id == dag_id, task_instances.c.run_id == run_id,
                             task_instances.c.task_id == task_id)
                rows = conn.execute(select(task_instances).where(where)).all()
                if not rows:
                    continue
                before.extend(_ti(r) for r in rows)
                conn.execute(update(task_instances).where(where).values(
                    state=state, token=None, end_date=now_ms, **_NO_DEFERRAL,
                    start_date=func.coalesce(task_instances.c.start_date, now_ms)))
                conn.execute(update(task_tries).where(
                    task_tries.c.dag_id == dag_id, task_tries.c.run_id == run_id, task_tries.c.task_id == task_id,
                    task_tries.c.state == TIState.RUNNING).values(state=state, end_date=now_ms))
            if before and run.state in FINISHED_RUN:
                conn.execute(update(dag_runs).where(run_where).values(state=RunState.RUNNING, end_date=None))
        return before

    # Outputs and lineage ----------------------------------------------------------------------
    def put_output(self, output: TaskOutput, now: datetime, token: str | None = None) -> bool:
        with self.db.write() as conn:
            if token is not None and conn.execute(_OWNED_TRY_NUMBER, {
                    **_key_params(output.dag_id, output.run_id, (output.task_id, output.map_index)),
                    "k_token": token}).first() is None:
                return False  # the try was fenced (cleared, marked, re-queued): its values are not wanted
            conn.execute(_DELETE_OUTPUT, {"k_dag_id": output.dag_id, "k_run_id": output.run_id,
                                          "k_task_id": output.task_id, "k_map_index": output.map_index,
                                          "k_key": output.key})
            conn.execute(_INSERT_OUTPUT, {
                "dag_id": output.dag_id, "run_id": output.run_id, "task_id": output.task_id,
                "map_index": output.map_index, "key": output.key, "serializer": output.serializer,
                "data": output.data, "uri": output.uri, "size_bytes": output.size_bytes, "length": output.length,
                "created_at": to_ms(now),
            })
        return True

    def states_at(self, dag_id: str, logical_dates: Sequence[datetime],
                  task_ids: Sequence[str] | None, task_group_id: str | None = None) -> list[str | None]:
        dates = [to_ms(d) for d in logical_dates]
        runs = select(dag_runs.c.run_id, dag_runs.c.state, dag_runs.c.logical_date).where(
            dag_runs.c.dag_id == dag_id, dag_runs.c.logical_date.in_(dates)).order_by(dag_runs.c.id)
        with self.db.read() as conn:
            newest = {r.logical_date: r for r in conn.execute(runs)}  # a date run again: its latest run counts
            if task_group_id is not None:
                spec = conn.execute(select(dags.c.spec).where(dags.c.dag_id == dag_id)).scalar()
                task_ids = [t["task_id"] for t in (json.loads(spec)["tasks"] if spec else [])
                            if (t.get("task_group") or "") == task_group_id
                            or (t.get("task_group") or "").startswith(f"{task_group_id}.")]
            if task_ids is None:
                return [r.state for r in newest.values()]
            run_ids = [r.run_id for r in newest.values()]
            if not run_ids or not task_ids:
                return []
            return [r.state for r in conn.execute(select(_TI.state).where(
                _TI.dag_id == dag_id, _TI.run_id.in_(run_ids), _TI.task_id.in_(list(task_ids))))]

    def get_outputs(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> list[TaskOutput]:
        params = {"k_dag_id": dag_id, "k_run_id": run_id, "k_task_id": task_id, "k_key": key}
        with self.db.read() as conn:
            return [_output(r) for r in conn.execute(_GET_OUTPUTS, params)]

    def output_lengths(self, dag_id: str, run_id: str) -> dict[tuple[str, str], int | None]:
        out: dict[tuple[str, str], int | None] = {}
        with self.db.read() as conn:
            rows = conn.execute(_OUTPUT_LENGTHS, {"k_dag_id": dag_id, "k_run_id": run_id}).all()
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
                params = dataclasses.asdict(e)
                if conn.execute(_LINEAGE_EXISTS, params).first() is None:
                    conn.execute(_INSERT_LINEAGE, params)

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
        with self.db.read() as conn:
            by_pool = conn.execute(_ACTIVE_BY_POOL).all()
            by_run = conn.execute(_ACTIVE_BY_RUN).all()
        return ({r[0]: int(r[1]) for r in by_pool}, {(r[0], r[1]): int(r[2]) for r in by_run})

    # The scheduler lease -----------------------------------------------------------------------
    def acquire_scheduler_lease(self, holder: str, now: datetime, ttl_seconds: float,
                                take_over: str | None = None) -> tuple[bool, str]:
        """Take or renew the lease for ``ttl_seconds``: won if free, expired, already ours, or
        held by ``take_over`` (a holder known to be dead). Returns (won, holder after the call)."""
        now_ms = to_ms(now) or 0
        expires = now_ms + round(ttl_seconds * 1000)
        where = scheduler_lease.c.name == "scheduler"
        try:
            with self.db.write() as conn:
                row = conn.execute(select(scheduler_lease).where(where).with_for_update()).first()
                if row is None:
                    conn.execute(insert(scheduler_lease).values(name="scheduler", holder=holder, expires_at=expires))
                    return True, holder
                if row.holder in (holder, take_over) or row.expires_at < now_ms:
                    conn.execute(update(scheduler_lease).where(where).values(holder=holder, expires_at=expires))
                    return True, holder
                return False, row.holder
        except IntegrityError:  # another process inserted the row first
            return False, ""

    def release_scheduler_lease(self, holder: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(scheduler_lease).where(scheduler_lease.c.name.in_(("scheduler", _presence(holder))),
                                                       scheduler_lease.c.holder == holder))

    def beat_scheduler(self, holder: str, now: datetime, ttl_seconds: float) -> None:
        """Record that scheduler ``holder`` is alive for ``ttl_seconds`` more (and forget the
        schedulers whose presence expired)."""
        now_ms = to_ms(now) or 0
        name = _presence(holder)
        with self.db.write() as conn:
            conn.execute(delete(scheduler_lease).where(scheduler_lease.c.name.like("alive:%"),
                                                       scheduler_lease.c.expires_at < now_ms))
            values = {"holder": holder, "expires_at": now_ms + round(ttl_seconds * 1000)}
            renewed = conn.execute(update(scheduler_lease).where(scheduler_lease.c.name == name).values(**values))
            if not renewed.rowcount:
                conn.execute(insert(scheduler_lease).values(name=name, **values))

    def live_schedulers(self, now: datetime) -> set[str]:
        """Holder names of the schedulers whose presence (:meth:`beat_scheduler`) has not expired."""
        with self.db.read() as conn:
            return {r.holder for r in conn.execute(select(scheduler_lease.c.holder).where(
                scheduler_lease.c.name.like("alive:%"), scheduler_lease.c.expires_at >= (to_ms(now) or 0)))}

    # Dividing work between schedulers ----------------------------------------------------------
    # On PostgreSQL several schedulers run at once. Each claim below is a transaction held open
    # on a connection of its own for the block: rows locked FOR NO KEY UPDATE SKIP LOCKED, so
    # each scheduler gets rows no other one holds, and none waits. The lock conflicts with any
    # UPDATE of those rows, also from this process's other connections: inside the block, never
    # update a claimed row (write it after the block). Inserts and the task_instances rows of a
    # claimed run are free. On SQLite (one scheduler: the lease) a claim reads, locks nothing
    # and holds no transaction, so a single scheduler runs exactly as fast as before.
    @contextmanager
    def claim_runs(self, state: str, limit: int, keys: Collection[tuple[str, str]] | None = None,
                   exclude_run_type: str | None = None) -> Iterator[list[DagRun]]:
        """The runs in ``state`` this scheduler may process until the block ends: at most
        ``limit`` (PostgreSQL, in random order so that the others get their turn; SQLite: all,
        oldest first), only ``keys`` (dag_id, run_id) when given, without ``exclude_run_type``."""
        if self.db.is_sqlite:
            runs = self.list_dag_runs(states=[state], limit=10_000, newest_first=False)
            yield [r for r in runs if (keys is None or (r.dag_id, r.run_id) in keys)
                   and (exclude_run_type is None or r.run_type != exclude_run_type)]
            return
        query = select(dag_runs).where(dag_runs.c.state == state)
        if keys is not None:
            if not keys:
                yield []
                return
            query = query.where(tuple_(dag_runs.c.dag_id, dag_runs.c.run_id).in_(list(keys)))
        if exclude_run_type is not None:
            query = query.where(dag_runs.c.run_type != exclude_run_type)
        query = query.order_by(func.random()).limit(limit).with_for_update(skip_locked=True, key_share=True)
        with self.db.read() as conn:
            yield [_run(r) for r in conn.execute(query)]

    @contextmanager
    def claim_dags(self, dag_ids: Collection[str]) -> Iterator[set[str]]:
        """The DAGs among ``dag_ids`` whose runs this scheduler may create and start until the
        block ends (PostgreSQL: the DAG rows no other scheduler holds; SQLite: all). Holding a
        DAG is what keeps max_active_runs and the creation of scheduled runs exact."""
        if self.db.is_sqlite or not dag_ids:
            yield set(dag_ids)
            return
        query = (select(dags.c.dag_id).where(dags.c.dag_id.in_(sorted(dag_ids))).order_by(dags.c.dag_id)
                 .with_for_update(skip_locked=True, key_share=True))
        with self.db.read() as conn:
            yield {r.dag_id for r in conn.execute(query)}

    @contextmanager
    def lock_pools(self) -> Iterator[None]:
        """Hold every pool row until the block ends (PostgreSQL; waits for another scheduler's
        block to end; SQLite: nothing): pool slots are counted and task instances queued under
        it, so the schedulers together never exceed a pool. default_pool always exists."""
        if self.db.is_sqlite:
            yield
            return
        with self.db.read() as conn:
            conn.execute(select(pools.c.name).order_by(pools.c.name).with_for_update(key_share=True)).all()
            yield

    def warm_up(self, with_tracking: bool = False) -> None:
        """Run the statements of one task try (and, ``with_tracking``, of its tracked run in
        the tracking tables of this same database) in a rehearsal that is rolled back: the
        engine compiles them once, and task processes forked afterwards inherit them from its
        statement cache instead of compiling them each. Changes nothing; best effort."""
        from trackflow.entities import Metric, Param, RunStatus, RunTag
        from trackflow.store.sql.tracking_store import SqlTrackingStore

        ghost = "\x00warm-up"
        now = datetime.now(UTC)
        now_ms = to_ms(now) or 0
        key = (ghost, -1)
        try:
            with self.db.rehearsal() as scratch:
                store = SqlPipelineStore(scratch)
                store.create_dag_run(DagRun(
                    dag_id=ghost, run_id=ghost, state=RunState.RUNNING, run_type="manual", logical_date=now,
                    data_interval_start=now, data_interval_end=now, run_after=now, queued_at=now,
                ), [NewTaskInstance(task_id=ghost), NewTaskInstance(task_id=ghost + "2")])
                store.get_dag_run(ghost, ghost)
                token = store.queue_task_instances(ghost, ghost, [key], now)[0].token or ""
                tracking_run_id = None
                if with_tracking:
                    tracking = SqlTrackingStore(scratch, "mlflow-artifacts:")
                    tags = [RunTag("a", "b"), RunTag("c", "d")]
                    created = tracking.create_run("0", "warm-up", now_ms, tags, "warm-up")
                    tracking_run_id = created.info.run_id
                    tracking.log_batch(tracking_run_id, [Metric("m", 1.0, now_ms)], [Param("p", "v")],
                                       [RunTag("t", "v")])
                    tracking.get_run(tracking_run_id)
                    tracking.update_run_info(tracking_run_id, RunStatus.FINISHED, now_ms)
                store.start_try(ghost, ghost, key, token, now, "", 0, "", tracking_run_id)
                store.heartbeat(ghost, ghost, key, token, now)
                store.put_output(TaskOutput(ghost, ghost, ghost, -1, "return_value", "json", b"1", None, 1, None), now)
                store.get_outputs(ghost, ghost, ghost)
                store.record_lineage([LineageEdge(ghost, ghost, ghost, -1, "return_value", ghost + "2", -1)])
                store.finish_try(ghost, ghost, key, token, TIState.SUCCESS, now, skip_task_ids=[ghost + "2"])
                store.list_task_instances(ghost, ghost)
        except Exception:  # e.g. the Default experiment was deleted: forks just compile for themselves
            pass

    def pool_slots(self) -> dict[str, int]:
        with self.db.read() as conn:
            return {r.name: r.slots for r in conn.execute(_POOL_SLOTS)}
