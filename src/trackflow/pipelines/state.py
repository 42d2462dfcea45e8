"""The one owner of task-instance and DAG-run state.

Every state change of a task instance or a DAG run, whoever asks for it (the scheduler's
decisions, timeouts and lost heartbeats, the task process claiming, beating and finishing its
try, a person clearing or marking from the API, CLI or UI, a backfill), goes through a
function of this module. Each one:

1. checks the move against the state machine below (:func:`ti_move_allowed`,
   :func:`run_move_allowed`: pure functions of the states and who asks), and
2. writes it with the store's compare-and-set: the row moves only if it is still in the
   state the caller read and, for a live try, still holds the caller's try token.

A caller that lost the race (someone else moved the row first, or the try was cleared or
marked meanwhile) learns it from the return value; nothing is overwritten. Clearing or marking
a queued or running try drops its token, which *fences* it: its heartbeat, outputs, log and
final record are refused from then on, and the scheduler, seeing an executor process whose
token the store no longer holds, asks the executor to kill it.

The states are ``TIState`` and ``RunState`` (entities/pipelines.py, so the store can use them
too; importable from here as well). Stored values are the enum values (Airflow's names), so
the API and UI read the same strings.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

# The states and their groups live with the records (the store uses them too); they are
# importable from here, beside the state machine, as before.
from trackflow.entities.pipelines import ACTIVE_TI as ACTIVE_TI
from trackflow.entities.pipelines import FINISHED_RUN as FINISHED_RUN
from trackflow.entities.pipelines import FINISHED_TI as FINISHED_TI
from trackflow.entities.pipelines import MARKABLE as MARKABLE
from trackflow.entities.pipelines import DagRun, TaskInstance, TaskOutput
from trackflow.entities.pipelines import RunState as RunState
from trackflow.entities.pipelines import TIState as TIState
from trackflow.errors import Conflict, InvalidInput, NotFound
from trackflow.store.pipeline_base import Deferral, PipelineStore, TIKey, Transition, Within

if TYPE_CHECKING:
    from trackflow.store.sql.trigger_store import SqlTriggerStore


class Actor(enum.StrEnum):
    """Who asks for a transition: each may make different moves."""

    SCHEDULER = "scheduler"  # decisions, queueing, timeouts, lost heartbeats, exited processes
    TASK = "task"  # the task process that holds the try's token
    OPERATOR = "operator"  # a person: clear or mark from the API, CLI or UI
    TRIGGERER = "triggerer"  # a deferred task's trigger fired, failed or timed out


TIStateOrNone = TIState | None

_WAITING: tuple[TIStateOrNone, ...] = (None, TIState.SCHEDULED, TIState.UP_FOR_RETRY, TIState.UP_FOR_RESCHEDULE)
_ALL: tuple[TIStateOrNone, ...] = (None, *TIState)


def _moves(sources: Iterable[TIStateOrNone], targets: Iterable[TIStateOrNone]) -> set[tuple[str | None, str | None]]:
    targets = list(targets)
    return {(s, t) for s in sources for t in targets}


# The task-instance state machine: (from, to) pairs each actor may write.
TI_MOVES: Mapping[Actor, frozenset[tuple[str | None, str | None]]] = {
    Actor.SCHEDULER: frozenset(
        # decisions: wait for a slot, finish without running (trigger rules, empty tasks, mapping)
        _moves(_WAITING, (TIState.SCHEDULED, TIState.SKIPPED, TIState.UPSTREAM_FAILED, TIState.SUCCESS,
                          TIState.FAILED, TIState.REMOVED))
        # queueing a new try (fresh token)
        | _moves(_WAITING, (TIState.QUEUED,))
        # a try that died, timed out or exited without a result; a queued try that never started
        | _moves(ACTIVE_TI, (TIState.FAILED, TIState.UP_FOR_RETRY))
        | {(TIState.QUEUED, TIState.SCHEDULED)}
    ),
    Actor.TASK: frozenset(
        {(TIState.QUEUED, TIState.RUNNING)}
        | _moves((TIState.RUNNING,), (TIState.SUCCESS, TIState.FAILED, TIState.SKIPPED, TIState.UP_FOR_RETRY,
                                      TIState.UP_FOR_RESCHEDULE, TIState.DEFERRED))
    ),
    # the wait ends: resume the same try (with the event, or only to fail)
    Actor.TRIGGERER: frozenset({(TIState.DEFERRED, TIState.SCHEDULED)}),
    Actor.OPERATOR: frozenset(
        _moves(_ALL, (None,))  # clear
        | _moves(_ALL, MARKABLE)  # mark
    ),
}

RUN_MOVES: frozenset[tuple[str, str]] = frozenset({
    (RunState.QUEUED, RunState.RUNNING),
    (RunState.RUNNING, RunState.SUCCESS),
    (RunState.RUNNING, RunState.FAILED),
    # clearing tasks of a run sends it back to the queue; marking them makes a finished run
    # running again so the scheduler recomputes its state
    (RunState.RUNNING, RunState.QUEUED),
    (RunState.SUCCESS, RunState.QUEUED),
    (RunState.FAILED, RunState.QUEUED),
    (RunState.SUCCESS, RunState.RUNNING),
    (RunState.FAILED, RunState.RUNNING),
})


def ti_move_allowed(current: str | None, target: str | None, actor: Actor) -> bool:
    """Whether ``actor`` may move a task instance from ``current`` to ``target`` (pure)."""
    return (current, target) in TI_MOVES[actor]


def run_move_allowed(current: str, target: str) -> bool:
    """Whether a DAG run may move from ``current`` to ``target`` (pure)."""
    return (current, target) in RUN_MOVES


def _require(current: str | None, target: str | None, actor: Actor, what: str) -> None:
    if not ti_move_allowed(current, target, actor):
        raise InvalidInput(f"{actor.value} cannot move task instance {what} from {current} to {target}")


# Task instances -------------------------------------------------------------------------------
def transition(store: PipelineStore, dag_id: str, run_id: str, changes: Sequence[Transition], now: datetime,
               actor: Actor = Actor.SCHEDULER) -> list[TIKey]:
    """Move task instances of one run (one transaction); returns the keys that moved. A change
    whose row is no longer in ``expected`` (or, with ``token`` set, no longer holds that try
    token) is skipped: its caller lost the race. InvalidInput for a move the state machine
    does not allow ``actor`` to make (a bug in the caller, never a race)."""
    for change in changes:
        _require(change.expected, change.state, actor, f"{change.key[0]} of run {run_id!r}")
    return store.apply_transitions(dag_id, run_id, changes, now)


def queue(store: PipelineStore, dag_id: str, run_id: str, keys: Sequence[TIKey], now: datetime,
          queued_by: str | None = None) -> list[TaskInstance]:
    """Waiting -> queued with a new try number and a fresh token, by scheduler ``queued_by``;
    the queued ones are returned, the others were moved by someone else meanwhile (another
    scheduler included: the compare-and-set queues a task instance once)."""
    return store.queue_task_instances(dag_id, run_id, keys, now, queued_by)


def start_try(store: PipelineStore, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime,
              hostname: str, pid: int, log_path: str, tracking_run_id: str | None) -> TaskInstance | None:
    """queued -> running for the task process holding ``token``; None if the try is not its
    any more (cleared, marked, re-queued or claimed by another process)."""
    try:
        return store.start_try(dag_id, run_id, key, token, now, hostname, pid, log_path, tracking_run_id)
    except Conflict:
        return None


def heartbeat(store: PipelineStore, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime) -> bool:
    """The running try holding ``token`` is alive; False once it is fenced (not its row any more)."""
    return store.heartbeat(dag_id, run_id, key, token, now)


def holds_try(store: PipelineStore, dag_id: str, run_id: str, key: TIKey, token: str) -> bool:
    """Whether the try holding ``token`` still owns its running task instance (a read: for
    writes outside the store, like the log upload, that cannot be compare-and-set)."""
    try:
        ti = store.get_task_instance(dag_id, run_id, key[0], key[1])
    except NotFound:
        return False
    return ti.state == TIState.RUNNING and ti.token == token


def put_output(store: PipelineStore, output: TaskOutput, token: str, now: datetime) -> bool:
    """Store a value of the running try holding ``token``; False (nothing written) once fenced."""
    return store.put_output(output, now, token=token)


def finish_try(store: PipelineStore, dag_id: str, run_id: str, key: TIKey, token: str, state: TIState,
               now: datetime, next_retry_at: datetime | None = None, skip_task_ids: Sequence[str] = (),
               note: str | None = None, within: Within | None = None, deferral: Deferral | None = None,
               skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
    """running -> ``state`` for the task process holding ``token`` (with ``within``'s writes,
    e.g. its asset events, in the same transaction); False once fenced. ``deferred`` stores
    the ``deferral``'s trigger; ``up_for_reschedule`` pokes again at ``next_retry_at``."""
    _require(TIState.RUNNING, state, Actor.TASK, f"{key[0]} of run {run_id!r}")
    return store.finish_try(dag_id, run_id, key, token, state, now, next_retry_at, skip_task_ids, note, within,
                            deferral, skip_at_own_index, rendered_map_index)


# Deferral: the triggerer ends waits --------------------------------------------------------------
def trigger_fired(triggers: SqlTriggerStore, trigger_id: int, payload: str, now: datetime) -> list[TaskInstance]:
    """deferred -> scheduled for the task instances waiting on the trigger, with its event."""
    _require(TIState.DEFERRED, TIState.SCHEDULED, Actor.TRIGGERER, f"waiting on trigger {trigger_id}")
    return triggers.fire(trigger_id, payload, now)


def trigger_failed(triggers: SqlTriggerStore, trigger_id: int, error: str, now: datetime) -> list[TaskInstance]:
    """deferred -> scheduled, to fail in the task process (its retries and callbacks apply)."""
    _require(TIState.DEFERRED, TIState.SCHEDULED, Actor.TRIGGERER, f"waiting on trigger {trigger_id}")
    return triggers.fail(trigger_id, error, now)


def deferrals_timed_out(triggers: SqlTriggerStore, now: datetime) -> list[TaskInstance]:
    """deferred -> scheduled, to fail, for the waits past their timeout."""
    _require(TIState.DEFERRED, TIState.SCHEDULED, Actor.TRIGGERER, "past its deferral timeout")
    return triggers.time_out(now)


def expand(store: PipelineStore, dag_id: str, run_id: str, task_id: str, length: int | None) -> None:
    """A mapped task's placeholder (no state) becomes ``length`` task instances, or is skipped
    (0) or failed (None); only while the placeholder still has no state (compare-and-set)."""
    store.expand_task(dag_id, run_id, task_id, length)


def clear(store: PipelineStore, dag_id: str, run_id: str, task_ids: Sequence[str], retries: Mapping[str, int],
          now: datetime) -> list[TaskInstance]:
    """Operator: reset task instances (any state -> no state) so they run again, and send the
    run back to the queue. A queued or running try loses its token (it is fenced). Returns the
    task instances as they were before (their tracked runs and tokens)."""
    return store.clear_task_instances(dag_id, run_id, task_ids, retries, now)


def mark(store: PipelineStore, dag_id: str, run_id: str, task_ids: Sequence[str], state: str,
         now: datetime) -> list[TaskInstance]:
    """Operator: force success/failed/skipped; a live try is fenced; a finished run goes back
    to running so the scheduler recomputes its state. Returns the task instances as before."""
    if state not in MARKABLE:
        raise InvalidInput(f"cannot mark task instances as {state!r}: use success, failed or skipped")
    return store.mark_task_instances(dag_id, run_id, task_ids, TIState(state), now)


# DAG runs -------------------------------------------------------------------------------------
def transition_run(store: PipelineStore, run: DagRun, state: RunState, now: datetime) -> DagRun | None:
    """Move ``run`` from the state it was read in to ``state``; the updated run, or None if
    it changed meanwhile (e.g. a clear sent it back to the queue between read and write)."""
    if not run_move_allowed(run.state, state):
        raise InvalidInput(f"DAG run {run.run_id!r} cannot move from {run.state} to {state}")
    return store.cas_dag_run(run.dag_id, run.run_id, run.state, state, now)


def fenced(executor_tries: Mapping[tuple[str, str, str, int], str],
           live: Mapping[tuple[str, str, str, int], str | None]) -> list[tuple[str, str, str, int]]:
    """Keys of executor processes whose try token the store no longer holds for a queued or
    running task instance (cleared, marked, or gone): they must be killed. ``live`` maps each
    queued/running task instance to its token (pure)."""
    return [key for key, token in executor_tries.items() if live.get(key) != token]
