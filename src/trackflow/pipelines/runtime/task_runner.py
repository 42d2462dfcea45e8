"""Runs one task try in the current process: the body of every task process.

Steps: capture logs; create the try's tracked run; claim the try in the store (compare-and-
set on the executor's token, so a try never runs twice); heartbeat in a thread; load the DAG
(unless the caller has it already); resolve inputs from upstream outputs (recording lineage);
render templates; execute with the execution_timeout enforced by SIGALRM; store outputs;
run callbacks; end the tracked run; upload the log; record the final state (up_for_retry/
failed from the retry policy) together with any downstream skips a branch asked for. The
heartbeat runs until that last write, so a slow callback or upload never looks like a dead
process. Every read and write of pipeline state goes through the try's channel
(runtime/channel.py): straight to the database for the local executor, or over the server's
task API with the try token for a worker that has no database credentials (Celery). Once the
try is fenced (cleared or marked), its values, tracked-run end, log upload and final record
are refused, and its heartbeat stops the process.
"""

from __future__ import annotations

import _thread
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from trackflow.config import Settings
from trackflow.entities.assets import NewAssetEvent
from trackflow.entities.pipelines import DagRun, TaskInstance
from trackflow.errors import InvalidInput
from trackflow.pipelines import connections, variables
from trackflow.pipelines.authoring import templating  # loaded before forking, not per task
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.context import set_current_context
from trackflow.pipelines.authoring.dag import DAG
from trackflow.pipelines.authoring.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSkipException,
    AirflowTaskTimeout,
    TaskDeferred,
)
from trackflow.pipelines.authoring.retry_policy import RetryAction, RetryDecision
from trackflow.pipelines.authoring.xcom_arg import MappedArgument, XComArg, resolve_xcom_args
from trackflow.pipelines.dagbag import load_dag
from trackflow.pipelines.executors.base import TaskWorkload
from trackflow.pipelines.runtime import logs
from trackflow.pipelines.runtime.asset_context import InletEventAccessors, OutletEventAccessors, triggering_events
from trackflow.pipelines.runtime.channel import StoreChannel, TryChannel
from trackflow.pipelines.runtime.context import TaskInstanceHandle, build_context
from trackflow.pipelines.runtime.outputs import Outputs
from trackflow.pipelines.runtime.state_store import AssetStateStoreAccessors, TaskStateStoreAccessor
from trackflow.pipelines.runtime.tracked import TrackedTry
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.spec import TaskSpec
from trackflow.pipelines.state import TIState
from trackflow.pipelines.triggers import serde
from trackflow.store.pipeline_base import Deferral
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.tracking import backend, fluent


class TaskTerminated(AirflowException):
    """The task process was asked to stop (SIGTERM): killed, cleared or marked meanwhile."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def open_db(uri: str) -> Database:
    """The process's Database for ``uri`` (shared with the tracking client when they match)."""
    return backend.open_database(uri)


# A task process rides out a database outage this long (see StoreChannel) before its try fails.
OUTAGE_PATIENCE_SECONDS = 120.0


def open_channel(workload: TaskWorkload) -> TryChannel:
    """The try's channel: the server's task API when the workload names one, else the database."""
    key = (workload.task_id, workload.map_index)
    if workload.api_url:
        from trackflow.pipelines.runtime.task_api_client import TaskApiChannel

        return TaskApiChannel(workload.api_url, workload.dag_id, workload.run_id, key, workload.token)
    return StoreChannel(SqlPipelineStore(open_db(workload.db_uri)), workload.dag_id, workload.run_id, key,
                        workload.token, patience=OUTAGE_PATIENCE_SECONDS, settings=Settings(**workload.settings))


def reset_after_fork() -> None:
    """In a forked child: drop pooled connections inherited from the parent (they belong to
    it), and any fluent tracking state."""
    for db in list(getattr(backend, "_databases", {}).values()):
        pool = db.engine.pool
        checked_in, checked_out = getattr(pool, "checkedin", None), getattr(pool, "checkedout", None)
        if checked_in is not None and checked_out is not None and checked_in() == 0 and checked_out() == 0:
            continue  # nothing inherited (the executor helper empties its pool before forking)
        db.engine.dispose(close=False)
    active = getattr(fluent, "_active_runs", None)
    if isinstance(active, list):
        active.clear()


def task_spec_of(task: BaseOperator) -> TaskSpec:
    return TaskSpec(
        task_id=task.task_id, operator=type(task).__name__, retries=task.retries,
        retry_delay=task.retry_delay.total_seconds(), retry_exponential_backoff=task.retry_exponential_backoff,
        max_retry_delay=task.max_retry_delay.total_seconds() if task.max_retry_delay else None,
    )


def unmap(task: BaseOperator, map_index: int, outputs: Outputs) -> BaseOperator:
    """The concrete task for one map index (see ExpandInput.values_at)."""
    assert task.expand_input is not None
    return task.unmap(task.expand_input.values_at(map_index, lambda arg: outputs.get(arg.operator.task_id, arg.key)))


def upstream_values(task: BaseOperator, map_index: int, outputs: Outputs) -> Callable[[Any], Any]:
    """How ``task``'s instance ``map_index`` reads a task output or a mapped group's argument
    (as Airflow): in a mapped task group, a task of the same group gives the value of the same
    map index, the group's argument that map index's value; any other output is read whole (a
    mapped task's or group's as the list of all its map indexes' values)."""
    group = task.mapped_group

    def whole(arg: XComArg) -> Any:
        return outputs.get(arg.operator.task_id, arg.key)

    def fetch(arg: Any) -> Any:
        if isinstance(arg, MappedArgument):
            values = arg.group.expand_input.values_at(map_index, whole)
            if arg.key not in values:
                raise AirflowFailException(f"the arguments of map index {map_index} of task group "
                                           f"{arg.group.group_id!r} have no {arg.key!r}")
            return values[arg.key]
        if group is not None and arg.operator.mapped_group is group:
            return outputs.get_at(arg.operator.task_id, arg.key, map_index)
        return whole(arg)

    return fetch


@dataclass
class TryResult:
    state: str
    next_retry_at: datetime | None = None
    note: str | None = None
    skip: list[str] = field(default_factory=list)
    skip_at_own_index: list[str] = field(default_factory=list)  # tasks of its mapped group: this index only
    exception: BaseException | None = None
    asset_events: list[NewAssetEvent] = field(default_factory=list)  # of the outlets, on success
    deferral: Deferral | None = None  # what a deferred try waits on

    @property
    def pauses(self) -> bool:
        """The try is not over: it waits for a trigger or for its next poke."""
        return self.state in (TIState.DEFERRED, TIState.UP_FOR_RESCHEDULE)


class Heartbeat:
    """Beats every ``interval`` s in a background thread; if the store says the try is no
    longer ours (cleared, marked, re-queued), the task process stops itself with SIGTERM."""

    def __init__(self, channel: TryChannel, workload: TaskWorkload) -> None:
        self.channel = channel
        self.workload = workload
        self.stopped = threading.Event()

    def start(self) -> None:
        # A bare thread: threading.Thread.start() would wait for the thread to be scheduled,
        # which costs the (short) task a GIL round trip for nothing. It ends at stop().
        _thread.start_new_thread(self.run, ())

    def run(self) -> None:
        w = self.workload
        while not self.stopped.wait(w.heartbeat_interval):
            try:
                alive = self.channel.heartbeat(utcnow())
            except Exception:  # a transient database error: try again at the next beat
                continue
            if not alive and not self.stopped.is_set():
                print("The task instance was changed from outside (cleared or marked): stopping.", flush=True)
                os.kill(os.getpid(), signal.SIGTERM)
                return

    def stop(self) -> None:
        self.stopped.set()


@dataclass
class PreparedTry:
    """What the process that forks a task try has already done for it: the try's DAG run
    and its tracked run. There (a long-lived process) that costs a fraction of what it costs
    in a fresh fork, where each object touched for the first time is a page to copy."""

    run: DagRun | None = None
    tracked: TrackedTry | None = None

    def discard(self) -> None:
        """The try's process could not be started: end the tracked run made for it."""
        if self.tracked is not None:
            try:
                self.tracked.client.set_terminated(self.tracked.run_id, "KILLED")
            except Exception:
                pass


def prepare_try(workload: TaskWorkload) -> PreparedTry:
    """Read the DAG run and create the tracked run of ``workload`` (best effort: whatever
    fails here, the task process does itself, as without preparation)."""
    prepared = PreparedTry()
    try:
        settings = Settings(**workload.settings)
        prepared.run = open_channel(workload).get_dag_run()
        prepared.tracked = TrackedTry.for_workload(settings, prepared.run, workload)
    except Exception:
        pass
    return prepared


class TryRunner:
    def __init__(self, workload: TaskWorkload, settings: Settings, channel: TryChannel, log_path: str,
                 dag: DAG | None = None, prepared: PreparedTry | None = None) -> None:
        self.w = workload
        self.settings = settings
        self.channel = channel
        self.log_path = log_path
        self.dag = dag
        self.prepared = prepared or PreparedTry()
        self.tracked: TrackedTry | None = None
        self.task: BaseOperator | None = None

    def run(self) -> tuple[TryResult | None, TaskInstance | None]:
        """Claim and execute the try; the caller records the result with :meth:`record`."""
        w = self.w
        run = self.prepared.run or self.channel.get_dag_run()
        self.tracked = self.prepared.tracked
        if self.tracked is None:
            try:
                self.tracked = TrackedTry.for_workload(self.settings, run, w)
            except Exception as exc:  # tracking is best effort: the task still runs
                print(f"WARNING: could not create the tracked run of this try: {exc}", flush=True)
        ti = self.channel.start(utcnow(), socket.gethostname(), os.getpid(), self.log_path,
                                self.tracked.run_id if self.tracked else None)
        if ti is None:
            print(f"Not running: task instance {w.task_id} of run {w.run_id!r} is not queued for this process "
                  "any more", flush=True)
            if self.tracked:
                self.tracked.client.set_terminated(self.tracked.run_id, "KILLED")
                self.tracked = None
            return None, None
        print(f"Starting {w.dag_id}.{w.task_id}{'' if w.map_index < 0 else f'[{w.map_index}]'} run {w.run_id} "
              f"try {ti.try_number}/{ti.max_tries + 1} on {socket.gethostname()} pid {os.getpid()}", flush=True)
        # Beats until stop_heartbeat(), right before the final record: callbacks, the tracked
        # run's end and the log upload all happen while the try visibly lives.
        self.heartbeat = Heartbeat(self.channel, w)
        self.heartbeat.start()
        result = self.execute(run, ti)
        print(f"Task finished with state {result.state}"
              + (f", next try after {result.next_retry_at.isoformat()}" if result.next_retry_at else ""), flush=True)
        self.run_callbacks(result)
        return result, ti

    heartbeat: Heartbeat | None = None

    def stop_heartbeat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()

    def owns_try(self) -> bool:
        """Whether this process still holds its try (not fenced)."""
        try:
            return self.channel.holds()
        except Exception:
            return True  # a transient database error: the final record decides

    def record(self, result: TryResult) -> None:
        """Record the final state: the try's last write (the scheduler moves on at once)."""
        w = self.w
        self.stop_heartbeat()
        owned = self.channel.finish(result.state, utcnow(), result.next_retry_at, result.skip, result.note,
                                    result.asset_events, result.deferral, result.skip_at_own_index,
                                    self.map_index_label)
        if not owned:
            print(f"{w.task_id}: the task instance was changed while it ran (cleared or marked): "
                  "its result is discarded.", file=sys.stderr, flush=True)

    def run_callbacks(self, result: TryResult) -> None:
        task = self.task
        if task is None or self.context is None:
            return
        callbacks = {TIState.SUCCESS: task.on_success_callback, TIState.FAILED: task.on_failure_callback,
                     TIState.UP_FOR_RETRY: task.on_retry_callback}.get(TIState(result.state), [])
        context = {**self.context, "exception": result.exception}
        for callback in callbacks:
            try:
                callback(context)
            except Exception:
                print(f"Error in {result.state} callback {getattr(callback, '__name__', callback)}:", flush=True)
                traceback.print_exc()

    context: dict[str, Any] | None = None

    def failure(self, exc: BaseException, ti: TaskInstance, run: DagRun, allow_retry: bool = True) -> TryResult:
        spec = task_spec_of(self.task) if self.task is not None else TaskSpec(task_id=self.w.task_id, operator="")
        decision = self.retry_decision(exc, ti) if allow_retry else None
        now = utcnow()
        retry = allow_retry and (decision is None or decision.action != RetryAction.FAIL)
        outcome = decisions.on_failure(spec, ti.try_number, ti.max_tries, now, self.w.dag_id, run.logical_date,
                                       allow_retry=retry)
        next_retry_at = outcome.next_retry_at
        if next_retry_at is not None and decision is not None and decision.action == RetryAction.RETRY \
                and decision.retry_delay is not None:
            next_retry_at = now + decision.retry_delay
        note = f"{type(exc).__name__}: {exc}"
        if decision is not None and decision.reason:
            note = f"{note} (retry policy: {decision.action.value}, {decision.reason})"
        return TryResult(outcome.state, next_retry_at, note[:2000], exception=exc)

    def retry_decision(self, exc: BaseException, ti: TaskInstance) -> RetryDecision | None:
        """The task's retry_policy on the exception, in this process where the exception is
        (as Airflow); a policy that raises falls back to the task's retries."""
        policy = getattr(self.task, "retry_policy", None)
        if policy is None or isinstance(exc, (AirflowFailException, TaskTerminated)):
            return None
        try:
            decision = policy.evaluate(exc, ti.try_number, ti.max_tries, self.context)
        except Exception:
            print("Retry policy evaluation failed, falling back to the task's retries:", flush=True)
            traceback.print_exc()
            return None
        if not isinstance(decision, RetryDecision):
            print(f"Retry policy returned {decision!r}, not a RetryDecision: the task's retries apply", flush=True)
            return None
        if decision.reason:
            print(f"Retry policy decision: {decision.action.value} ({decision.reason})", flush=True)
        return decision

    def deferred(self, exc: TaskDeferred, task: BaseOperator, ti: TaskInstance) -> TryResult:
        """The try ends waiting on ``exc.trigger``: what the store keeps of it. The wait's
        deadline is the deferral's timeout, and the task's execution_timeout counted from the
        try's start, whichever comes first (as Airflow)."""
        now = utcnow()
        classpath, kwargs = exc.trigger.serialize()
        deadlines = [now + exc.timeout] if exc.timeout is not None else []
        if task.execution_timeout is not None:
            deadlines.append((ti.start_date or now) + task.execution_timeout)
        deferral = Deferral(classpath, serde.dumps(kwargs, f"the arguments of trigger {classpath}"), exc.method_name,
                            serde.dumps(exc.kwargs or {}, f"the arguments of {exc.method_name}"),
                            min(deadlines) if deadlines else None)
        print(f"Deferring: waiting on {classpath} to resume in {exc.method_name}()"
              + (f", until {deferral.timeout_at.isoformat()}" if deferral.timeout_at else ""), flush=True)
        return TryResult(TIState.DEFERRED, deferral=deferral)

    def execute(self, run: DagRun, ti: TaskInstance) -> TryResult:
        w = self.w
        try:
            if self.dag is None and self.settings.airflow_imports:
                from trackflow.pipelines.authoring import airflow_shim

                airflow_shim.install()
            dag = self.dag or load_dag(w.fileloc, w.dag_id)
            task = dag.get_task(w.task_id)
        except Exception as exc:
            traceback.print_exc()
            return self.failure(exc, ti, run)
        self.task = task
        reader = self.tracked.read_artifact if self.tracked else None
        writer = self.tracked.write_artifact if self.tracked else None
        outputs = Outputs(self.channel, w.dag_id, w.run_id, (w.task_id, w.map_index), reader, writer)
        handle: TaskInstanceHandle | None = None

        def on_term(signum: int, frame: FrameType | None) -> None:
            raise TaskTerminated(f"task received signal {signum}")

        def on_alarm(signum: int, frame: FrameType | None) -> None:
            raise AirflowTaskTimeout(f"task {w.task_id!r} exceeded its execution_timeout of {task.execution_timeout}")

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGALRM, on_alarm)
        try:
            if task.is_mapped:
                task = unmap(task, w.map_index, outputs)
                self.task = task
            try:
                params = dag.params.merged(task.params).resolve(run.conf)
            except InvalidInput as exc:
                raise AirflowFailException(exc.message) from None
            handle = TaskInstanceHandle(w.dag_id, w.run_id, w.task_id, w.map_index, ti.try_number, ti.max_tries,
                                        task, outputs, run.logical_date, self.tracked.run_id if self.tracked else None)
            handle.start_date = ti.start_date
            handle.first_poke_date = ti.reschedule_start or ti.start_date
            variables.bind(self.channel)  # Variable.get / {{ var.value.x }} read through this try's channel
            connections.bind(self.channel)  # BaseHook.get_connection / {{ conn.x.host }} too
            context = build_context(dag, task, run, handle, params)
            outlet_events = OutletEventAccessors()
            context.update(
                outlet_events=outlet_events, inlets=list(task.inlets), outlets=list(task.outlets),
                inlet_events=InletEventAccessors(self.channel.asset_events, task.inlets),
                triggering_asset_events=triggering_events(self.channel.run_asset_events())
                if run.run_type == "asset_triggered" else {},
                task_state_store=TaskStateStoreAccessor(self.channel),
                asset_state_store=AssetStateStoreAccessors(self.channel, [*task.inlets, *task.outlets]),
            )
            self.context = context
            fetch = upstream_values(task, w.map_index, outputs)
            for name in task.template_fields:
                value = getattr(task, name, None)
                if value is not None:
                    setattr(task, name, resolve_xcom_args(value, fetch))
            outputs.flush_lineage()
            if self.tracked:
                self.tracked.activate()
            with set_current_context(context):
                task.render_template_fields(context)
                if ti.next_method is None:  # once per try, not again when it resumes
                    for callback in task.on_execute_callback:
                        callback(context)
                if task.execution_timeout is not None:
                    signal.setitimer(signal.ITIMER_REAL, max(task.execution_timeout.total_seconds(), 0.001))
                try:
                    if ti.next_method is not None:
                        result = task.resume_execution(ti.next_method, serde.loads(ti.next_kwargs), context)
                    else:
                        task.pre_execute(context)
                        result = task.execute(context)
                    task.post_execute(context, result)
                finally:
                    signal.setitimer(signal.ITIMER_REAL, 0)
            outputs.flush_lineage()
            if task.do_xcom_push and result is not None:
                outputs.put(w.task_id, w.map_index, "return_value", result, handle.tracking_run_id)
                if task.multiple_outputs and isinstance(result, dict):
                    for key, value in result.items():
                        outputs.put(w.task_id, w.map_index, str(key), value, handle.tracking_run_id)
            return TryResult(TIState.SUCCESS, skip=handle.skip_requests, skip_at_own_index=handle.skip_own_index,
                             asset_events=outlet_events.events(task.outlets, run.partition_key))
        except AirflowSkipException as exc:
            print(f"Skipping: {exc}", flush=True)
            return TryResult(TIState.SKIPPED, note=str(exc) or None, skip=handle.skip_requests if handle else [],
                             skip_at_own_index=handle.skip_own_index if handle else [])
        except TaskDeferred as exc:
            outputs.flush_lineage()
            try:
                return self.deferred(exc, task, ti)
            except InvalidInput as bad:  # a trigger or arguments that cannot be stored
                return self.failure(AirflowFailException(bad.message), ti, run, allow_retry=False)
        except AirflowRescheduleException as exc:
            outputs.flush_lineage()
            print(f"Rescheduling: the next poke at {exc.reschedule_date.isoformat()}", flush=True)
            return TryResult(TIState.UP_FOR_RESCHEDULE, next_retry_at=exc.reschedule_date)
        except (AirflowTaskTimeout, TaskTerminated) as exc:
            traceback.print_exc()
            try:
                task.on_kill()
            except Exception:
                traceback.print_exc()
            return self.failure(exc, ti, run, allow_retry=not isinstance(exc, TaskTerminated))
        except AirflowFailException as exc:
            traceback.print_exc()
            return self.failure(exc, ti, run, allow_retry=False)
        except BaseException as exc:  # user code may raise anything, SystemExit included
            if isinstance(exc, KeyboardInterrupt):
                raise
            traceback.print_exc()
            return self.failure(exc, ti, run)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            if w.map_index >= 0 and self.context is not None:
                self.label_map_index(self.context)

    map_index_label: str | None = None

    def label_map_index(self, context: dict[str, Any]) -> None:
        """Render the try's ``map_index_template`` (Airflow's rendered map index) with the
        context as the task left it; it is recorded with the try's end on the task instance
        (``rendered_map_index``) and names the try's tracked run (tag
        ``trackflow.map_index_label``). A template that fails to render is reported, not fatal."""
        template = context.get("map_index_template")
        if not template:
            return
        try:
            dag = self.dag or (self.task.dag if self.task is not None else None)
            label = str(templating.render(template, context, templating.template_env(dag)))
        except Exception as exc:
            print(f"map_index_template could not be rendered: {exc}", file=sys.stderr, flush=True)
            return
        print(f"Map index {self.w.map_index}: {label}", flush=True)
        self.map_index_label = label[:250]  # as Airflow's column
        if self.tracked is not None:
            self.tracked.client.set_tag(self.tracked.run_id, "trackflow.map_index_label", label)


def run_workload(workload: TaskWorkload, dag: DAG | None = None, prepared: PreparedTry | None = None) -> int:
    """Run one try; return the process exit code (0 success/skipped, 1 otherwise).
    ``prepared``: what the forking process did already (see :func:`prepare_try`)."""
    settings = Settings(**workload.settings)
    path = logs.log_path(str(settings.home_path / "logs"), workload.dag_id, workload.run_id, workload.task_id,
                         workload.map_index, workload.try_number)
    runner = TryRunner(workload, settings, open_channel(workload), path, dag, prepared)
    result: TryResult | None = None
    owned = True
    try:
        with logs.capture(path):
            try:
                result, ti = runner.run()
            except Exception:  # e.g. the database went away: the scheduler sees the exit code
                traceback.print_exc()
                ti = None
            # A fenced try leaves its tracked run to whoever fenced it (clear/mark set it).
            owned = ti is not None and runner.owns_try()
            if runner.tracked is not None and owned and not (result and result.pauses):  # paused: it goes on later
                try:
                    runner.tracked.finish(result.state if result else TIState.FAILED)
                except Exception:
                    traceback.print_exc()
        if runner.tracked is not None and owned:
            try:  # found again from the try's tracking_run_id; the local file stays readable anyway
                runner.tracked.upload_log(path)
            except Exception:
                pass
        if result is None:
            return 0 if ti is None else 1  # not claimed (someone else's try), or crashed
        runner.record(result)
    finally:
        runner.stop_heartbeat()
    return 0 if result.state in (TIState.SUCCESS, TIState.SKIPPED) or result.pauses else 1
