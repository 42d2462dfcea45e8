"""Pure scheduling decisions: functions of (state, now), no I/O.

The scheduler loop and ``dags test`` read the state of a DAG run, call :func:`decide_run`,
and write what it returns. Semantics follow Airflow: trigger rules are evaluated against
the direct upstream task instances (all map indexes of a mapped upstream), skips and
upstream failures cascade within one call, a run ends when no task instance is unfinished
and its state comes from its leaf tasks.
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from trackflow.pipelines.authoring.trigger_rules import TriggerRule
from trackflow.pipelines.scheduler import setup_teardown
from trackflow.pipelines.spec import DagSpec, TaskSpec
from trackflow.pipelines.state import RunState, TIState

# Task instance states: the members of state.TIState (Airflow's names), by their short names
# here. None means "no status yet".
SCHEDULED = TIState.SCHEDULED
QUEUED = TIState.QUEUED
RUNNING = TIState.RUNNING
SUCCESS = TIState.SUCCESS
FAILED = TIState.FAILED
SKIPPED = TIState.SKIPPED
UPSTREAM_FAILED = TIState.UPSTREAM_FAILED
UP_FOR_RETRY = TIState.UP_FOR_RETRY
UP_FOR_RESCHEDULE = TIState.UP_FOR_RESCHEDULE
DEFERRED = TIState.DEFERRED
REMOVED = TIState.REMOVED

FINISHED = frozenset({SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED})
UNFINISHED = frozenset({None, SCHEDULED, QUEUED, RUNNING, UP_FOR_RETRY, UP_FOR_RESCHEDULE, DEFERRED})
# Waiting for a time of their own (next_retry_at): the next try, or a sensor's next poke.
_WAITS_FOR_TIME = (UP_FOR_RETRY, UP_FOR_RESCHEDULE)
ALL_TI_STATES = (None, *TIState)
# Rules a subset of the upstream can satisfy (Airflow's "fast triggered" ones).
_FAST_TRIGGERED = frozenset({TriggerRule.ONE_SUCCESS, TriggerRule.ONE_FAILED, TriggerRule.ONE_DONE,
                             TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS})

# DAG run states.
RUN_QUEUED = RunState.QUEUED
RUN_RUNNING = RunState.RUNNING
RUN_SUCCESS = RunState.SUCCESS
RUN_FAILED = RunState.FAILED
RUN_STATES = tuple(RunState)

TIKey = tuple[str, int]  # (task_id, map_index); map_index -1 for unmapped tasks


@dataclass(frozen=True)
class TIView:
    """What decisions need to know about one task instance."""

    task_id: str
    map_index: int = -1
    state: str | None = None
    try_number: int = 0
    max_tries: int = 0
    next_retry_at: datetime | None = None

    @property
    def key(self) -> TIKey:
        return (self.task_id, self.map_index)


class Verdict(enum.Enum):
    WAIT = "wait"
    RUN = "run"
    SKIP = "skip"
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True)
class UpstreamCounts:
    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0
    total: int = 0
    setup_success: int = 0  # of the upstream setup tasks' instances (included in the counts above)
    setup_skipped: int = 0
    setup_total: int = 0

    @property
    def done(self) -> int:
        return self.success + self.skipped + self.failed + self.upstream_failed + self.removed


def count_upstream(states: Iterable[str | None], setup_states: Iterable[str | None] = ()) -> UpstreamCounts:
    """Counts of the upstream task instances' states; ``setup_states`` are those of the setup
    tasks among them (counted in ``states`` too)."""
    counts: dict[str | None, int] = {SUCCESS: 0, SKIPPED: 0, FAILED: 0, UPSTREAM_FAILED: 0, REMOVED: 0}
    total = 0
    for state in states:
        total += 1
        if state in counts:
            counts[state] += 1
    setups = list(setup_states)
    return UpstreamCounts(counts[SUCCESS], counts[SKIPPED], counts[FAILED], counts[UPSTREAM_FAILED],
                          counts[REMOVED], total, setups.count(SUCCESS), setups.count(SKIPPED), len(setups))


def evaluate_trigger_rule(rule: str | TriggerRule, c: UpstreamCounts) -> Verdict:
    """Airflow's trigger-rule semantics, including its early skip/upstream_failed flags."""
    rule = TriggerRule(rule)
    upstream = c.total - c.removed
    if c.total == 0 or rule is TriggerRule.ALWAYS:
        return Verdict.RUN
    all_done = c.done >= c.total
    fails = c.failed + c.upstream_failed
    if rule is TriggerRule.ALL_SUCCESS:
        if fails:
            return Verdict.UPSTREAM_FAILED
        if c.skipped:
            return Verdict.SKIP
        return Verdict.RUN if c.success >= upstream else Verdict.WAIT
    if rule is TriggerRule.ALL_FAILED:
        if c.success or c.skipped:
            return Verdict.SKIP
        return Verdict.RUN if fails >= upstream else Verdict.WAIT
    if rule is TriggerRule.ALL_DONE:
        return Verdict.RUN if all_done else Verdict.WAIT
    if rule is TriggerRule.ALL_DONE_SETUP_SUCCESS:  # teardowns: run if one upstream setup succeeded
        if not all_done:
            return Verdict.WAIT
        if c.setup_total and c.setup_skipped >= c.setup_total:
            return Verdict.SKIP
        if c.setup_total and not c.setup_success:
            return Verdict.UPSTREAM_FAILED
        return Verdict.RUN
    if rule is TriggerRule.ALL_DONE_MIN_ONE_SUCCESS:
        if c.skipped:  # as Airflow: a skipped upstream is not "done" for this rule
            return Verdict.SKIP
        if not all_done:
            return Verdict.WAIT
        return Verdict.RUN if c.success else Verdict.UPSTREAM_FAILED
    if rule is TriggerRule.ALL_SKIPPED:
        if c.success or fails:
            return Verdict.SKIP
        return Verdict.RUN if c.skipped >= upstream else Verdict.WAIT
    if rule is TriggerRule.ONE_SUCCESS:
        if c.success:
            return Verdict.RUN
        if all_done:
            return Verdict.SKIP if c.done == c.skipped else Verdict.UPSTREAM_FAILED
        return Verdict.WAIT
    if rule is TriggerRule.ONE_FAILED:
        if fails:
            return Verdict.RUN
        return Verdict.SKIP if all_done else Verdict.WAIT
    if rule is TriggerRule.ONE_DONE:
        if c.success or c.failed:
            return Verdict.RUN
        return Verdict.SKIP if all_done else Verdict.WAIT
    if rule is TriggerRule.NONE_FAILED:
        if fails:
            return Verdict.UPSTREAM_FAILED
        return Verdict.RUN if c.success + c.skipped >= upstream else Verdict.WAIT
    if rule is TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS:
        if fails:
            return Verdict.UPSTREAM_FAILED
        if c.skipped >= upstream:
            return Verdict.SKIP
        return Verdict.RUN if c.success + c.skipped >= upstream else Verdict.WAIT
    if rule is TriggerRule.NONE_SKIPPED:
        if c.skipped:
            return Verdict.SKIP
        return Verdict.RUN if all_done else Verdict.WAIT
    raise AssertionError(f"unhandled trigger rule {rule}")  # pragma: no cover


@dataclass
class RunDecision:
    """What to write for one DAG run.

    ``changes``: task instances that finish without running (skipped, upstream_failed, or
    success for empty tasks). ``to_schedule``: task instances that may now be queued.
    ``to_expand``: mapped tasks whose upstream is ready; the caller looks up the map
    length and calls :func:`expand` before deciding again. ``run_state``: the run's final
    state once it is over, else None.
    """

    changes: dict[TIKey, TIState] = field(default_factory=dict)
    to_schedule: list[TIKey] = field(default_factory=list)
    to_expand: list[str] = field(default_factory=list)
    run_state: RunState | None = None


def decide_run(spec: DagSpec, tis: Mapping[TIKey, TIView], now: datetime,
               skip_requests: Iterable[str] = ()) -> RunDecision:
    """Decide which task instances of one DAG run move, and whether the run is over.

    ``skip_requests`` are task ids a branch or short-circuit task asked to skip; they are
    skipped if they have not started.
    """
    states = {key: ti.state for key, ti in tis.items()}
    by_task: dict[str, list[TIKey]] = {}
    for key in tis:
        by_task.setdefault(key[0], []).append(key)
    decision = RunDecision()

    def set_state(key: TIKey, state: TIState) -> None:
        states[key] = state
        decision.changes[key] = state

    for task_id in skip_requests:
        for key in by_task.get(task_id, []):
            if states[key] in (None, SCHEDULED):
                set_state(key, SKIPPED)
                if key in decision.to_schedule:
                    decision.to_schedule.remove(key)

    roles = setup_teardown.view(spec)
    tasks = spec.task_map

    def relevant(task: TaskSpec, map_index: int, upstream_id: str) -> list[TIKey]:
        """The upstream task's instances that ``task``'s instance ``map_index`` depends on: in
        one mapped task group, the instance of the same map index (as Airflow)."""
        keys = by_task.get(upstream_id, [])
        if task.mapped_group is None or tasks[upstream_id].mapped_group != task.mapped_group:
            return keys
        if map_index < 0 and TriggerRule(task.trigger_rule) in _FAST_TRIGGERED:
            return keys  # the placeholder must not be skipped before the group is expanded
        # looked up, not filtered: a group of n map indexes would cost n * n per task
        return [k for k in dict.fromkeys(((upstream_id, -1), (upstream_id, map_index))) if k in states]

    def verdict_of(task: TaskSpec, map_index: int) -> Verdict:
        def states_of(task_ids: Iterable[str]) -> list[str | None]:
            return [states[k] for up in task_ids for k in relevant(task, map_index, up)]

        setups = [up for up in task.upstream if tasks[up].is_setup]
        verdict = evaluate_trigger_rule(task.trigger_rule, count_upstream(states_of(task.upstream),
                                                                          states_of(setups)))
        indirect = roles.indirect_setups.get(task.task_id)
        if indirect:  # setups beyond the direct upstream must all succeed first (Airflow's setup constraint)
            setup_verdict = evaluate_trigger_rule(TriggerRule.ALL_SUCCESS, count_upstream(states_of(indirect)))
            if setup_verdict in (Verdict.SKIP, Verdict.UPSTREAM_FAILED):
                verdict = setup_verdict
            elif setup_verdict is Verdict.WAIT and verdict is Verdict.RUN:
                verdict = Verdict.WAIT
        scope = roles.teardown_scope.get(task.task_id)
        if scope and verdict is Verdict.RUN and any(s not in FINISHED for s in states_of(scope)):
            verdict = Verdict.WAIT  # a teardown waits for all the work between its setups and it
        return verdict

    for task in spec.tasks:
        keys = sorted(by_task.get(task.task_id, []), key=lambda k: k[1])
        pending = [k for k in keys if states[k] is None or states[k] in _WAITS_FOR_TIME]
        if not pending:
            continue
        shared = verdict_of(task, -1) if task.mapped_group is None else None
        for key in pending:
            ti = tis[key]
            if states[key] in _WAITS_FOR_TIME:
                if ti.next_retry_at is None or ti.next_retry_at <= now:
                    decision.to_schedule.append(key)
                continue
            verdict = shared if shared is not None else verdict_of(task, key[1])
            if verdict is Verdict.SKIP:
                set_state(key, SKIPPED)
            elif verdict is Verdict.UPSTREAM_FAILED:
                set_state(key, UPSTREAM_FAILED)
            elif verdict is Verdict.RUN:
                if task.is_mapped and key[1] == -1:
                    decision.to_expand.append(task.task_id)
                elif task.is_empty:
                    set_state(key, SUCCESS)
                else:
                    decision.to_schedule.append(key)

    if not decision.to_expand:
        decision.run_state = run_outcome(spec, states, decision, roles.run_state_tasks)
    return decision


def run_outcome(spec: DagSpec, states: Mapping[TIKey, str | None],
                decision: RunDecision | None = None, leaves: Iterable[str] | None = None) -> RunState | None:
    """success/failed once no task instance is unfinished (from the states of ``leaves``: the
    DAG's leaves, teardowns without on_failure_fail_dagrun left out), else None.

    A run whose unfinished task instances can never progress (nothing scheduled, queued,
    running or waiting to retry) is failed, as Airflow does for deadlocks.
    """
    unfinished = [k for k, s in states.items() if s in UNFINISHED]
    leaves = set(setup_teardown.view(spec).run_state_tasks if leaves is None else leaves)
    leaf_states = [s for k, s in states.items() if k[0] in leaves]
    if not unfinished:
        if any(s in (FAILED, UPSTREAM_FAILED) for s in leaf_states):
            return RUN_FAILED
        return RUN_SUCCESS
    progressing = any(states[k] is not None for k in unfinished)
    if not progressing and decision is not None and not decision.to_schedule and not decision.to_expand:
        return RUN_FAILED
    return None


def expand(tis: Mapping[TIKey, TIView], task_id: str, length: int | None) -> dict[TIKey, TIView]:
    """Replace a mapped task's placeholder (map_index -1) by ``length`` task instances.

    Zero length gives one skipped placeholder (as Airflow skips an empty map); an unknown
    length (the upstream output cannot be mapped over) fails the placeholder.
    """
    placeholder = tis[(task_id, -1)]
    out = {k: v for k, v in tis.items() if k != (task_id, -1)}
    if length is None:
        out[(task_id, -1)] = replace(placeholder, state=FAILED)
    elif length == 0:
        out[(task_id, -1)] = replace(placeholder, state=SKIPPED)
    else:
        for i in range(length):
            out[(task_id, i)] = replace(placeholder, map_index=i)
    return out


def map_length(task: TaskSpec, output_lengths: Mapping[tuple[str, str], int | None]) -> int | None:
    """Number of task instances of a mapped task: the product of its inputs' lengths
    (cartesian product, as Airflow's ``expand`` with several arguments).

    ``output_lengths[(task_id, key)]`` is the length of a stored upstream output (None if it
    is not a list or dict).
    """
    total = 1
    for item in task.map_inputs:
        if item.kind == "literal":
            n: int | None = item.length
        else:
            n = output_lengths.get((item.task_id, item.key))
        if n is None:
            return None
        total *= n
    return total


def initial_task_instances(spec: DagSpec) -> dict[TIKey, TIView]:
    """One task instance per task (a map_index -1 placeholder for mapped tasks)."""
    return {(t.task_id, -1): TIView(task_id=t.task_id, max_tries=t.retries) for t in spec.tasks}


# Retries ----------------------------------------------------------------------------------
def retry_delay(task: TaskSpec, try_number: int, dag_id: str, logical_date: datetime | None) -> timedelta:
    """Delay before the next try after try ``try_number`` failed (Airflow's formula).

    With exponential backoff the delay is between ``retry_delay * 2**(try-1)`` and twice
    that, chosen deterministically from a hash of the task instance, capped by
    ``max_retry_delay``.
    """
    delay = timedelta(seconds=task.retry_delay)
    if task.retry_exponential_backoff:
        min_backoff = max(1, math.ceil(task.retry_delay * (2 ** (try_number - 1))))
        digest = hashlib.sha1(f"{dag_id}#{task.task_id}#{logical_date}#{try_number}".encode()).hexdigest()
        seconds = min(min_backoff + int(digest, 16) % min_backoff, timedelta.max.total_seconds() - 1)
        delay = timedelta(seconds=seconds)
    if task.max_retry_delay is not None:
        delay = min(delay, timedelta(seconds=task.max_retry_delay))
    return delay


@dataclass(frozen=True)
class FailureOutcome:
    state: TIState  # UP_FOR_RETRY or FAILED
    next_retry_at: datetime | None


def on_failure(task: TaskSpec, try_number: int, max_tries: int, now: datetime, dag_id: str,
               logical_date: datetime | None, allow_retry: bool = True) -> FailureOutcome:
    """State after try ``try_number`` failed: up_for_retry while tries remain, else failed."""
    if allow_retry and try_number <= max_tries:
        return FailureOutcome(UP_FOR_RETRY, now + retry_delay(task, try_number, dag_id, logical_date))
    return FailureOutcome(FAILED, None)


# Liveness ---------------------------------------------------------------------------------
def is_stale(heartbeat_at: datetime | None, now: datetime, timeout: timedelta) -> bool:
    """A running task instance whose process stopped heartbeating for ``timeout``."""
    return heartbeat_at is None or now - heartbeat_at > timeout


def run_timed_out(start_date: datetime | None, dagrun_timeout: float | None, now: datetime) -> bool:
    """The running DAG run started longer than its DAG's ``dagrun_timeout`` ago (Airflow: the
    run fails and its unfinished task instances are skipped)."""
    return start_date is not None and dagrun_timeout is not None and now - start_date > timedelta(
        seconds=dagrun_timeout)


def is_timed_out(start_date: datetime | None, execution_timeout: float | None, now: datetime,
                 grace: timedelta = timedelta(seconds=5)) -> bool:
    """The task overran its execution_timeout by more than ``grace`` (the task itself
    enforces the timeout; this catches processes that ignore it)."""
    if start_date is None or execution_timeout is None:
        return False
    return now - start_date > timedelta(seconds=execution_timeout) + grace


# Queueing ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """A scheduled task instance that could be handed to the executor."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    priority_weight: int
    pool: str
    pool_slots: int
    order: tuple[str, ...] = ()  # tie-breaker, e.g. (run logical date, ...)


def select_to_queue(
    candidates: Sequence[Candidate],
    pool_open: Mapping[str, int],
    run_open: Mapping[tuple[str, str], int],
    executor_open: int,
) -> list[Candidate]:
    """Pick task instances to queue: highest priority_weight first, then the older run,
    within free pool slots, each run's max_active_tasks, and the executor's free slots.

    A task instance needing more pool slots than are free is passed over (smaller ones
    behind it may still fit). Unknown pools have no slots.
    """
    pools = dict(pool_open)
    runs = dict(run_open)
    chosen: list[Candidate] = []
    ordered = sorted(candidates, key=lambda c: (-c.priority_weight, c.order, c.task_id, c.map_index))
    for cand in ordered:
        if len(chosen) >= executor_open:
            break
        run_key = (cand.dag_id, cand.run_id)
        if runs.get(run_key, 0) <= 0:
            continue
        if pools.get(cand.pool, 0) < cand.pool_slots:
            continue
        pools[cand.pool] -= cand.pool_slots
        runs[run_key] -= 1
        chosen.append(cand)
    return chosen


def runs_to_start(queued: Sequence[str], active: int, max_active_runs: int) -> list[str]:
    """Queued runs (oldest first) that may start without exceeding max_active_runs."""
    return list(queued[: max(0, max_active_runs - active)])
