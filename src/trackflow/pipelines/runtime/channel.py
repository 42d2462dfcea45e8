"""What a task process may read and write about its own try: the try channel.

A task process never decides and never sees more than its try needs (as Airflow 3's task
execution API): it reads its DAG run and upstream outputs, claims its try, heartbeats, stores
its values and lineage, and records its end — each write a compare-and-set on the try's token
in :mod:`trackflow.pipelines.state`, so a fenced try (cleared or marked) writes nothing more.

Two implementations of :class:`TryChannel`, passing the same tests:

* :class:`StoreChannel` — straight to the database (the local executor's fast path, and the
  server side of the task API);
* :class:`~trackflow.pipelines.runtime.task_api_client.TaskApiChannel` — over HTTP to
  ``trackflow server``'s task API, authenticated by the try token alone: a worker on another
  machine needs no database credentials (the Celery executor).
"""

from __future__ import annotations

import base64
import dataclasses
import os
import types
import typing
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from trackflow.config import Settings
from trackflow.entities.assets import AssetEvent, NewAssetEvent
from trackflow.entities.connection import Connection
from trackflow.entities.pipelines import DagRun, LineageEdge, TaskInstance, TaskOutput
from trackflow.errors import InvalidInput, NotFound, Unavailable
from trackflow.pipelines import state
from trackflow.store.pipeline_base import Deferral, PipelineStore, TIKey
from trackflow.store.sql.asset_store import SqlAssetStore, check_event, record_events_in
from trackflow.store.sql.state_store import SqlStateStore

R = TypeVar("R")


class TryChannel(Protocol):
    """One try's view of the pipeline state. Bound to (dag_id, run_id, task_id, map_index, token).

    Writes return False (or None for :meth:`start`) once the try is fenced: the caller lost its
    task instance and must write nothing more. Transport failures raise (TrackflowError)."""

    dag_id: str
    run_id: str
    key: TIKey
    token: str

    def get_dag_run(self) -> DagRun:
        """The try's DAG run."""

    def start(self, now: datetime, hostname: str, pid: int, log_path: str,
              tracking_run_id: str | None) -> TaskInstance | None:
        """queued -> running for this try; None if the try is not ours (fenced or claimed)."""

    def heartbeat(self, now: datetime) -> bool:
        """The try is alive; False once fenced."""

    def holds(self) -> bool:
        """Whether the try still owns its running task instance (a read, for writes outside the
        store such as the log upload)."""

    def finish(self, state: str, now: datetime, next_retry_at: datetime | None, skip_task_ids: Sequence[str],
               note: str | None, asset_events: Sequence[NewAssetEvent] = (), deferral: Deferral | None = None,
               skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
        """running -> ``state`` (with the try's rendered map index, the downstream skips a branch
        asked for — those in its mapped task group at its own map index only —, and the asset
        events of its outlets, all or nothing; ``deferred`` with its ``deferral``); False once
        fenced."""

    def run_asset_events(self) -> list[AssetEvent]:
        """The asset events that triggered the try's DAG run."""

    def asset_events(self, name: str, limit: int, alias: bool = False) -> list[AssetEvent]:
        """An asset's latest events, newest first (a task's ``inlet_events``); with ``alias``,
        those of the assets alias ``name`` resolved to."""

    def put_output(self, output: TaskOutput, now: datetime) -> bool:
        """Store a value of this try; False (nothing written) once fenced."""

    def get_outputs(self, task_id: str, key: str) -> list[TaskOutput]:
        """Values of ``task_id`` in this run under ``key``, every map index, by map index."""

    def record_lineage(self, edges: Sequence[LineageEdge]) -> None:
        """Which upstream values this try read."""

    def states_at(self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str] | None,
                  task_group_id: str | None = None) -> list[str | None]:
        """Another DAG's task-instance (of task ids or a task group; without either, run)
        states at those logical dates (ExternalTaskSensor)."""

    def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: datetime, reset: bool,
                        fail_if_paused: bool) -> None:
        """Start a run of another DAG (TriggerDagRunOperator); AlreadyExists if that run exists
        and ``reset`` is off (with it, the run is cleared to run again); Conflict for a paused
        DAG when ``fail_if_paused``; NotFound for an unknown DAG."""

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        """A DAG run's state (None if there is no such run)."""

    def get_state(self, asset: str | None, key: str, now: datetime) -> str | None:
        """A value (JSON) of this task instance's state store, or of ``asset``'s."""

    def put_state(self, asset: str | None, key: str | None, value: str | None, expires_at: datetime | None,
                  now: datetime) -> bool:
        """Set ``key`` (JSON ``value``), delete it (``value`` None) or every key (both None) of
        this task instance's state store, or of ``asset``'s; False once fenced."""

    def get_variable(self, key: str) -> str | None:
        """A Variable's value (decrypted), None if it does not exist."""

    def put_variable(self, key: str, value: str | None, description: str | None) -> bool:
        """Set a Variable, or delete it (``value`` None; False if it did not exist)."""

    def get_connection(self, conn_id: str) -> Connection | None:
        """A stored Connection, password and extra decrypted; None if there is none."""


class StoreChannel:
    """A :class:`TryChannel` straight on the pipeline store. With ``patience`` (seconds), a
    call that finds the database unreachable (a restart, a failover) is retried with backoff
    for that long before it raises: a task process rides out a short outage instead of
    failing a try that did its work. (The task API's routes use no patience: their HTTP
    clients retry a 503 themselves.)"""

    def __init__(self, store: PipelineStore, dag_id: str, run_id: str, key: TIKey, token: str,
                 patience: float = 0.0, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings  # the deployment's (to trigger other DAGs' runs with their tracking)
        self.dag_id = dag_id
        self.run_id = run_id
        self.key = key
        self.token = token
        self.patience = patience

    def _call(self, fn: Callable[..., R], *args: Any) -> R:
        if self.patience <= 0:
            return fn(*args)
        retrying = Retrying(retry=retry_if_exception_type(Unavailable), stop=stop_after_delay(self.patience),
                            wait=wait_exponential(multiplier=0.1, max=5.0), reraise=True)
        return retrying(fn, *args)

    def get_dag_run(self) -> DagRun:
        return self._call(self.store.get_dag_run, self.dag_id, self.run_id)

    def start(self, now: datetime, hostname: str, pid: int, log_path: str,
              tracking_run_id: str | None) -> TaskInstance | None:
        return self._call(state.start_try, self.store, self.dag_id, self.run_id, self.key, self.token, now, hostname,
                          pid, log_path, tracking_run_id)

    def heartbeat(self, now: datetime) -> bool:
        return state.heartbeat(self.store, self.dag_id, self.run_id, self.key, self.token, now)  # beats again soon

    def holds(self) -> bool:
        return self._call(state.holds_try, self.store, self.dag_id, self.run_id, self.key, self.token)

    def finish(self, state_: str, now: datetime, next_retry_at: datetime | None, skip_task_ids: Sequence[str],
               note: str | None, asset_events: Sequence[NewAssetEvent] = (), deferral: Deferral | None = None,
               skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
        events = [dataclasses.replace(e, source="task", source_dag_id=self.dag_id, source_run_id=self.run_id,
                                      source_task_id=self.key[0], source_map_index=self.key[1]) for e in asset_events]
        for event in events:
            check_event(event)

        def record(conn: Any) -> None:
            record_events_in(conn, events, now)

        return self._call(state.finish_try, self.store, self.dag_id, self.run_id, self.key, self.token, state_, now,
                          next_retry_at, skip_task_ids, note, record if events else None, deferral,
                          skip_at_own_index, rendered_map_index)

    @property
    def assets(self) -> SqlAssetStore:
        return SqlAssetStore(self.store.db)  # type: ignore[attr-defined]

    def run_asset_events(self) -> list[AssetEvent]:
        return self._call(self.assets.run_events, self.dag_id, self.run_id)

    def asset_events(self, name: str, limit: int, alias: bool = False) -> list[AssetEvent]:
        if alias:
            return self._call(self.assets.list_events, None, limit, name)
        return self._call(self.assets.list_events, name, limit)

    def put_output(self, output: TaskOutput, now: datetime) -> bool:
        if (output.dag_id, output.run_id, output.task_id, output.map_index) != (self.dag_id, self.run_id, *self.key):
            return False  # a try stores its own values only
        return self._call(state.put_output, self.store, output, self.token, now)

    def get_outputs(self, task_id: str, key: str) -> list[TaskOutput]:
        return self._call(self.store.get_outputs, self.dag_id, self.run_id, task_id, key)

    def states_at(self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str] | None,
                  task_group_id: str | None = None) -> list[str | None]:
        return self._call(self.store.states_at, dag_id, logical_dates, task_ids, task_group_id)

    def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: datetime, reset: bool,
                        fail_if_paused: bool) -> None:
        from trackflow.config import load_settings
        from trackflow.pipelines.operations import Pipelines

        pipelines = Pipelines(self.settings or load_settings(), self.store.db)  # type: ignore[attr-defined]
        try:
            self._call(pipelines.trigger_or_reset, dag_id, run_id, conf, logical_date, reset, fail_if_paused)
        except NotFound:
            # `dags test FILE` knows only its own DAG: as Airflow's, look for the target in the
            # DAGs folder (the file's own folder) once, then try again
            if self._call(self.store.get_dag_run, self.dag_id, self.run_id).run_type != "test":
                raise
            folder = pipelines.settings.resolved_dags_folder
            pipelines.sync_folder(folder if os.path.isdir(folder) else os.path.dirname(folder))
            self._call(pipelines.trigger_or_reset, dag_id, run_id, conf, logical_date, reset, fail_if_paused)

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        try:
            return self._call(self.store.get_dag_run, dag_id, run_id).state
        except NotFound:
            return None

    @property
    def states(self) -> SqlStateStore:
        return SqlStateStore(self.store.db)  # type: ignore[attr-defined]

    def _variables(self) -> Any:
        from trackflow.config import load_settings
        from trackflow.pipelines.variables import fernet_for
        from trackflow.store.sql.variable_store import SqlVariableStore

        return SqlVariableStore(self.store.db, fernet_for(self.settings or load_settings()))  # type: ignore[attr-defined]

    def get_variable(self, key: str) -> str | None:
        return self._call(self._variables().get, key)  # type: ignore[no-any-return]

    def put_variable(self, key: str, value: str | None, description: str | None) -> bool:
        if value is None:
            return self._call(self._variables().delete, key)  # type: ignore[no-any-return]
        self._call(self._variables().set, key, value, description, datetime.now(UTC))
        return True

    def get_connection(self, conn_id: str) -> Connection | None:
        from trackflow.config import load_settings
        from trackflow.pipelines.variables import fernet_for
        from trackflow.store.sql.connection_store import SqlConnectionStore

        store = SqlConnectionStore(self.store.db, fernet_for(self.settings or load_settings()))  # type: ignore[attr-defined]
        return self._call(store.get, conn_id)  # type: ignore[no-any-return]

    def get_state(self, asset: str | None, key: str, now: datetime) -> str | None:
        if asset is not None:
            return self._call(self.states.get_asset_state, asset, key)
        return self._call(self.states.get_task_state, self.dag_id, self.run_id, self.key, key, now)

    def put_state(self, asset: str | None, key: str | None, value: str | None, expires_at: datetime | None,
                  now: datetime) -> bool:
        me = (self.dag_id, self.run_id, self.key, self.token)
        if value is None:
            if asset is not None:
                return self._call(self.states.delete_asset_state, *me, asset, key)
            return self._call(self.states.delete_task_state, *me, key)
        if key is None:
            raise InvalidInput("a state value needs a key")
        if asset is not None:
            return self._call(self.states.set_asset_state, *me, asset, key, value, now)
        return self._call(self.states.set_task_state, *me, key, value, expires_at, now)

    def record_lineage(self, edges: Sequence[LineageEdge]) -> None:
        mine = [e for e in edges if (e.dag_id, e.run_id, e.consumer_task_id, e.consumer_map_index)
                == (self.dag_id, self.run_id, *self.key)]
        if mine:
            self._call(self.store.record_lineage, mine)


# The task API's wire format: entities as JSON objects, datetimes ISO 8601, bytes base64 -------
T = TypeVar("T")


def to_wire(entity: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(entity):
        value = getattr(entity, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, bytes):
            value = base64.b64encode(value).decode("ascii")
        out[f.name] = value
    return out


def _annotation_of(cls: type, name: str) -> Any:
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    return next((a for a in args if a is not type(None)), hint)


def from_wire(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` (a dataclass entity) from :func:`to_wire`'s output; unknown keys are ignored."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        value = data[f.name]
        if value is not None:
            kind = _annotation_of(cls, f.name)
            if kind is datetime:
                value = datetime.fromisoformat(value)
            elif kind is bytes:
                value = base64.b64decode(value)
        values[f.name] = value
    return cls(**values)
