"""Creating DAG runs (trigger, schedule, backfill, test) and their tracked runs; clear and mark.

These are the operations the scheduler, the REST API, the CLI and ``dags test`` share.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from trackflow.config import Settings
from trackflow.entities import Param as TrackedParam
from trackflow.entities.pipelines import DagRun, TaskInstance
from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines import state
from trackflow.pipelines.authoring.params import _NOTSET, Param, ParamsDict
from trackflow.pipelines.scheduler import decisions, setup_teardown
from trackflow.pipelines.scheduler.timetables import DagRunInfo, deserialize_timetable
from trackflow.pipelines.spec import DagSpec
from trackflow.pipelines.state import RunState, TIState
from trackflow.store.pipeline_base import NewTaskInstance, PipelineStore, Within
from trackflow.tracking.client import Client

RUN_TYPES = ("manual", "scheduled", "backfill", "test", "asset_triggered")


def params_of(spec: DagSpec) -> ParamsDict:
    params = ParamsDict()
    for name, dumped in spec.params.items():
        default = dumped.get("default") if dumped.get("has_default", True) else _NOTSET
        params[name] = Param(default, description=dumped.get("description"), **dumped.get("schema", {}))
    return params


def validate_conf(spec: DagSpec, conf: Any) -> dict[str, Any]:
    """The run's conf, checked against the DAG's params (InvalidInput naming the param)."""
    if conf is None:
        conf = {}
    if not isinstance(conf, dict):
        raise InvalidInput(f"conf must be a JSON object, got {type(conf).__name__}")
    try:
        params_of(spec).resolve(conf)
    except InvalidInput as exc:
        raise InvalidInput(f"conf does not match the params of DAG {spec.dag_id!r}: {exc.message}") from None
    return conf


class RunTracking:
    """The DAG's experiment and the tracked run of each DAG run (best effort: pipelines work
    without tracking, e.g. when the tracking server is down)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: Any = None
        self._experiments: dict[str, str] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = Client(self.settings.resolved_tracking_uri, self.settings)
        return self._client

    def experiment_id(self, spec: DagSpec) -> str:
        name = spec.experiment_name or spec.dag_id
        if name not in self._experiments:
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                try:
                    self._experiments[name] = self.client.create_experiment(
                        name, tags={"trackflow.dag_id": spec.dag_id})
                except Exception:  # created meanwhile by another process
                    experiment = self.client.get_experiment_by_name(name)
                    if experiment is None:
                        raise
                    self._experiments[name] = experiment.experiment_id
            else:
                self._experiments[name] = experiment.experiment_id
        return self._experiments[name]

    def start(self, spec: DagSpec, run_id: str, run_type: str, logical_date: datetime,
              params: dict[str, Any]) -> tuple[str | None, str | None]:
        try:
            experiment_id = self.experiment_id(spec)
            run = self.client.create_run(experiment_id, run_name=run_id, tags={
                "dag_id": spec.dag_id, "run_id": run_id, "run_type": run_type,
                "logical_date": logical_date.isoformat(), "trackflow.kind": "dag_run",
            })
            if params:
                self.client.log_batch(run.info.run_id, params=[
                    TrackedParam(k, str(v)[:6000]) for k, v in params.items()])
            return run.info.run_id, experiment_id
        except Exception as exc:
            print(f"WARNING: tracking unavailable for DAG run {run_id!r}: {exc}")
            return None, None

    def finish(self, tracking_run_id: str | None, state: str) -> None:
        if not tracking_run_id:
            return
        try:
            self.client.set_terminated(tracking_run_id, "FINISHED" if state == RunState.SUCCESS else "FAILED")
        except Exception:
            pass

    def follow(self, before: Sequence[TaskInstance], to_state: str | None) -> None:
        """Tracked runs follow a clear (``to_state`` None) or mark of these task instances: a
        fenced live try's run ends KILLED; a marked try's run ends FINISHED or FAILED."""
        for ti in before:
            if not ti.tracking_run_id:
                continue
            live = ti.state in state.ACTIVE_TI
            if to_state is None and not live:
                continue  # a finished try's tracked run keeps its history
            status = "KILLED" if to_state is None else ("FAILED" if to_state == state.TIState.FAILED else "FINISHED")
            try:
                self.client.set_tag(ti.tracking_run_id, "trackflow.task_state", to_state or "cleared")
                self.client.set_terminated(ti.tracking_run_id, status)
            except Exception:
                pass

    def fail_try(self, tracking_run_id: str | None) -> None:
        if not tracking_run_id:
            return
        try:
            self.client.set_tag(tracking_run_id, "trackflow.task_state", TIState.FAILED)
            self.client.set_terminated(tracking_run_id, "FAILED")
        except Exception:
            pass


def default_run_id(run_type: str, logical_date: datetime) -> str:
    return f"{run_type}__{logical_date.isoformat()}"


def create_dag_run(
    store: PipelineStore,
    tracking: RunTracking | None,
    spec: DagSpec,
    run_type: str,
    now: datetime,
    logical_date: datetime | None = None,
    conf: dict[str, Any] | None = None,
    run_id: str | None = None,
    info: DagRunInfo | None = None,
    within: Within | None = None,
    partition_key: str | None = None,
) -> DagRun:
    """Create a queued DAG run with its task instances and its tracked run.

    Raises InvalidInput for conf not matching params or a bad run_id, AlreadyExists for a
    taken run_id (nothing is created then).
    """
    if run_type not in RUN_TYPES:
        raise InvalidInput(f"invalid run type {run_type!r}: use one of {', '.join(RUN_TYPES)}")
    conf = validate_conf(spec, conf)
    params = params_of(spec).resolve(conf)
    if info is None:
        logical = logical_date or now
        if logical.tzinfo is None:
            logical = logical.replace(tzinfo=UTC)
        info = deserialize_timetable(spec.timetable).manual_info(logical)
    run_id = run_id or default_run_id(run_type, info.logical_date)
    if not run_id or len(run_id) > 250:
        raise InvalidInput(f"invalid run_id {run_id!r}")
    tracking_run_id, experiment_id = (None, None)
    if tracking is not None:
        tracking_run_id, experiment_id = tracking.start(spec, run_id, run_type, info.logical_date, params)
    run = DagRun(
        dag_id=spec.dag_id, run_id=run_id, state=decisions.RUN_QUEUED, run_type=run_type,
        logical_date=info.logical_date, data_interval_start=info.data_interval_start,
        data_interval_end=info.data_interval_end, run_after=info.run_after, conf=conf, queued_at=now,
        tracking_run_id=tracking_run_id, experiment_id=experiment_id,
        partition_key=partition_key if partition_key is not None else info.partition_key,
        partition_date=info.partition_date,
    )
    tis = [
        NewTaskInstance(task_id=t.task_id, max_tries=t.retries, priority_weight=t.priority_weight, pool=t.pool,
                        pool_slots=t.pool_slots, operator=t.operator)
        for t in spec.tasks
    ] if within_dates(spec, info.logical_date) or run_type == "backfill" else []
    try:
        return store.create_dag_run(run, tis, within)
    except Exception:
        if tracking is not None and tracking_run_id:
            try:
                tracking.client.delete_run(tracking_run_id)
            except Exception:
                pass
        raise


def within_dates(spec: DagSpec, logical_date: datetime) -> bool:
    """Whether a run at ``logical_date`` has task instances: as Airflow, none before the DAG's
    start_date or after its end_date (the run is made, and ends at once with nothing to do)."""
    start = datetime.fromisoformat(spec.start_date) if spec.start_date else None
    end = datetime.fromisoformat(spec.end_date) if spec.end_date else None
    return (start is None or start <= logical_date) and (end is None or logical_date <= end)


def downstream_closure(spec: DagSpec, task_ids: Sequence[str]) -> list[str]:
    tasks = spec.task_map
    out: list[str] = []
    stack = list(task_ids)
    while stack:
        tid = stack.pop(0)
        if tid in out:
            continue
        out.append(tid)
        stack.extend(tasks[tid].downstream)
    return out


def upstream_closure(spec: DagSpec, task_ids: Sequence[str]) -> list[str]:
    tasks = spec.task_map
    out: list[str] = []
    stack = list(task_ids)
    while stack:
        tid = stack.pop(0)
        if tid in out:
            continue
        out.append(tid)
        stack.extend(tasks[tid].upstream)
    return out


def _selected(spec: DagSpec, task_ids: Sequence[str], downstream: bool, upstream: bool) -> list[str]:
    """``task_ids`` with, as asked, everything downstream and/or upstream of them (NotFound
    naming unknown task ids)."""
    unknown = [t for t in task_ids if t not in spec.task_map]
    if unknown:
        raise NotFound(f"task(s) {', '.join(unknown)} not found in DAG {spec.dag_id!r}")
    ids = list(task_ids)
    if upstream:
        ids = upstream_closure(spec, task_ids)
    if downstream:
        ids = list(dict.fromkeys(ids + downstream_closure(spec, task_ids)))
    return ids


def clear_tasks(store: PipelineStore, spec: DagSpec, run_id: str, task_ids: Sequence[str], now: datetime,
                include_downstream: bool = False, include_upstream: bool = False) -> list[TaskInstance]:
    """Reset task instances (and optionally everything downstream and/or upstream), with the
    setups and teardowns they need, so they run again; returns them as they were (a live try
    among them is fenced)."""
    tasks = spec.task_map
    ids = _selected(spec, task_ids, include_downstream, include_upstream)
    ids = setup_teardown.to_clear_with(spec, ids, include_downstream)
    return state.clear(store, spec.dag_id, run_id, ids, {t: tasks[t].retries for t in ids}, now)


def mark_tasks(store: PipelineStore, spec: DagSpec, run_id: str, task_ids: Sequence[str], to_state: str,
               now: datetime, include_downstream: bool = False, include_upstream: bool = False,
               ) -> list[TaskInstance]:
    """Force task instances (and optionally everything downstream and/or upstream) into
    ``to_state``; returns them as they were (a live try among them is fenced)."""
    ids = _selected(spec, task_ids, include_downstream, include_upstream)
    return state.mark(store, spec.dag_id, run_id, ids, to_state, now)
