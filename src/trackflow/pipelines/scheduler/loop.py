"""The scheduler loop: reads state, calls the pure decisions, writes what they return.

One :meth:`SchedulerLoop.tick`:
1. reconcile executor events (a task process that ended without recording a result failed
   its try: up_for_retry or failed by its retry policy);
2. fail tries whose heartbeat stopped (their process died, possibly with a previous
   scheduler that was SIGKILLed) and stop tries that overran execution_timeout;
3. create runs that are due (schedules, catchup, start/end date) and start queued runs
   within max_active_runs;
4. for each running run: decide, expand mapped tasks, write skips/upstream failures, end
   the run when it is over;
5. queue what is ready, by priority_weight, within pools, max_active_tasks and the
   executor's parallelism, and hand the workloads to the executor.
``dags test`` drives the same loop over a single run with an executor of its own.

Several schedulers on one PostgreSQL database run this loop at once (as Airflow's HA
schedulers do) and divide the work with row locks taken with SKIP LOCKED in short
transactions (SqlPipelineStore.claim_*): step 3 happens for the DAGs a scheduler holds (so
max_active_runs and scheduled-run creation are exact), step 4 for the running runs it holds
(a run is decided by one scheduler at a time; its final state is written after the claim),
and step 5 under a lock of all pools (slots and max_active_tasks are counted and task
instances queued by one scheduler at a time). Steps 1-2 are safe in any number: each
scheduler reconciles its own executor, and a lost heartbeat or timeout is written by
compare-and-set on the try's token, so only one scheduler's verdict lands. A queued try
whose process never started is re-queued only by the scheduler that queued it, or when that
scheduler is gone. On SQLite there is one scheduler (the lease) and the claims lock nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from trackflow.config import Settings
from trackflow.entities.pipelines import DagRun, TaskInstance
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.pipelines import runs as run_ops
from trackflow.pipelines import state
from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload
from trackflow.pipelines.scheduler import asset_triggers, decisions, partition_runs
from trackflow.pipelines.scheduler.lease import holder_name
from trackflow.pipelines.scheduler.timetables import (
    CustomTimetable,
    DagRunInfo,
    PartitionedAssetTimetable,
    Restriction,
    Timetable,
    asset_condition,
    deserialize_timetable,
)
from trackflow.pipelines.spec import DagSpec
from trackflow.store.pipeline_base import Transition
from trackflow.store.sql.asset_partitions import SqlPartitionStore
from trackflow.store.sql.asset_store import SqlAssetStore
from trackflow.store.sql.pipeline_store import SqlPipelineStore

log = logging.getLogger("trackflow.scheduler")
CUSTOM_RETRY = timedelta(minutes=5)  # a user's timetable that failed is asked again after this

StateListener = Callable[[TaskInstance | None, str, str | None], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def _views(tis: Iterable[TaskInstance]) -> dict[tuple[str, int], decisions.TIView]:
    return {
        (t.task_id, t.map_index): decisions.TIView(t.task_id, t.map_index, t.state, t.try_number, t.max_tries,
                                                   t.next_retry_at)
        for t in tis
    }


class SchedulerLoop:
    def __init__(
        self,
        store: SqlPipelineStore,
        executor: BaseExecutor,
        settings: Settings,
        db_uri: str,
        tracking: run_ops.RunTracking | None = None,
        heartbeat_interval: float = 5.0,
        heartbeat_timeout: float = 60.0,
        queued_timeout: float = 120.0,
        only_runs: set[tuple[str, str]] | None = None,
        schedule_runs: bool = True,
        on_state: StateListener | None = None,
        name: str | None = None,
        runs_per_tick: int = 100,
    ) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.db_uri = db_uri
        self.tracking = tracking
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = timedelta(seconds=heartbeat_timeout)
        self.queued_timeout = timedelta(seconds=queued_timeout)
        self.only_runs = only_runs
        self.schedule_runs = schedule_runs
        self.on_state = on_state
        self.name = name or holder_name()  # recorded as queued_by; the service passes its lease holder
        self.runs_per_tick = runs_per_tick  # PostgreSQL: running runs claimed per tick (the others get the rest)
        self.specs: dict[str, tuple[str, DagSpec]] = {}  # dag_id -> (spec hash, spec) cache
        self.dag_hashes: dict[str, tuple[str, bool]] = {}  # dag_id -> (spec hash, is_paused), read each tick
        self.last_liveness_check = datetime.min.replace(tzinfo=UTC)
        self.seen: dict[tuple[str, str, str, int], str | None] = {}  # last states reported to on_state
        self.killed: set[tuple[tuple[str, str, str, int], str]] = set()  # fenced tries asked to stop
        self.assets = SqlAssetStore(store.db)
        self.partitions = SqlPartitionStore(store.db)
        self.callbacks: list[subprocess.Popen[bytes]] = []  # DAG-callback processes still running
        self.gone_since: dict[tuple[tuple[str, str, str, int], str], datetime] = {}  # see release_lost
        # dag_id -> (timetable, last run, restriction), its next run, whether it answered, when: see next_info
        self.custom_next: dict[str, tuple[Any, DagRunInfo | None, bool, datetime]] = {}

    # Specs ------------------------------------------------------------------------------------
    def spec(self, dag_id: str) -> DagSpec:
        """The DAG's spec; parsed again only when its hash (read at the start of the tick) changed."""
        known = self.dag_hashes.get(dag_id)
        cached = self.specs.get(dag_id)
        if known is not None and cached is not None and cached[0] == known[0]:
            return cached[1]
        spec = DagSpec.from_dict(self.store.get_dag(dag_id).spec)
        if known is not None:
            # Read after the hash: if the DAG changed in between, the next tick sees a newer
            # hash than the cached one and reads it again.
            self.specs[dag_id] = (known[0], spec)
        return spec

    def _mine(self, dag_id: str, run_id: str, run_type: str | None = None) -> bool:
        """Runs this loop handles: the given ones, or (the service's loop) all but ``dags test`` runs."""
        if self.only_runs is not None:
            return (dag_id, run_id) in self.only_runs
        return run_type != "test" and not run_id.startswith("test__")

    def _notify(self, ti: TaskInstance | None, state: str, note: str | None = None) -> None:
        if self.on_state is not None:
            if ti is not None:  # remembered only for listeners: the service would grow it forever
                self.seen[ti.key] = state
            self.on_state(ti, state, note)

    # One tick ---------------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> bool:
        """One pass; True if anything changed (so the caller may tick again at once)."""
        now = now or utcnow()
        self.dag_hashes = self.store.dag_hashes()
        busy = self.handle_events(self.executor.poll(), now)
        self.kill_fenced()
        if now - self.last_liveness_check >= timedelta(seconds=min(5.0, self.heartbeat_interval)):
            self.last_liveness_check = now
            busy |= self.check_liveness(now)
        specs: dict[str, DagSpec] = {}
        queued = self.store.list_dag_runs(states=[decisions.RUN_QUEUED], limit=10_000, newest_first=False)
        wanted = {r.dag_id for r in queued}
        if self.schedule_runs:
            wanted |= set(self.dag_hashes)
        with self.store.claim_dags(wanted) as held_dags:
            if self.schedule_runs:
                busy |= self.create_due_runs(now, held_dags)
            busy |= self.start_queued_runs(now, specs, queued, held_dags)
        candidates: list[tuple[decisions.Candidate, decisions.TIView, DagSpec]] = []
        finished: list[tuple[DagRun, state.RunState]] = []
        timed_out: list[DagRun] = []
        with self.store.claim_runs(decisions.RUN_RUNNING, self.runs_per_tick, keys=self.only_runs,
                                   exclude_run_type=None if self.only_runs is not None else "test") as runs:
            for run in runs:
                if not self._mine(run.dag_id, run.run_id, run.run_type):
                    continue
                spec = specs.get(run.dag_id) or self.spec(run.dag_id)
                specs[run.dag_id] = spec
                if decisions.run_timed_out(run.start_date, spec.dagrun_timeout, now):
                    timed_out.append(run)
                    continue
                changed, ready, final = self.process_run(run, spec, now)
                busy |= changed
                candidates.extend(ready)
                if final is not None:
                    finished.append((run, final))
            # Queueing alone does not make the tick busy: nothing can be decided until what it
            # started reports back, and that comes as executor events, which end the caller's wait.
            if candidates:
                with self.store.lock_pools():
                    self.queue_ready(candidates, specs, now)
        for run, final in finished:  # after the claim: a claimed run's row is not written inside it
            busy |= self.finish_run(run, final, now)
        for run in timed_out:
            busy |= self.time_out_run(run, now)
        self.reap_callbacks()
        return busy

    def time_out_run(self, run: DagRun, now: datetime) -> bool:
        """dagrun_timeout passed: as Airflow, skip the unfinished task instances (fencing live
        tries, which the executor then stops) and fail the run."""
        unfinished = sorted({ti.task_id for ti in self.store.list_task_instances(run.dag_id, run.run_id)
                             if ti.state not in state.FINISHED_TI})
        before = state.mark(self.store, run.dag_id, run.run_id, unfinished, state.TIState.SKIPPED, now) \
            if unfinished else []
        if self.tracking is not None:
            self.tracking.follow(before, state.TIState.SKIPPED)
        log.info("%s: run %s timed out (dagrun_timeout): failed", run.dag_id, run.run_id)
        return self.finish_run(run, state.RunState.FAILED, now, reason="timed_out")

    def handle_events(self, events: list[ExecutorEvent], now: datetime) -> bool:
        """Fail the tries whose process ended without recording a result; True if any. (A
        result the process recorded itself is picked up by this same tick's decisions.)"""
        failed = False
        for event in events:
            dag_id, run_id, task_id, map_index = event.key
            try:
                ti = self.store.get_task_instance(dag_id, run_id, task_id, map_index)
            except Exception:
                continue
            if ti.token != event.token or ti.state not in (decisions.QUEUED, decisions.RUNNING):
                continue  # the process recorded its result itself (the normal case)
            self.fail_try(ti, now, f"the task process exited with code {event.exit_code} without recording a result")
            failed = True
        return failed

    def kill_fenced(self) -> list[tuple[str, str, str, int]]:
        """Ask the executor to kill the tries it runs whose token the store no longer holds
        (cleared or marked meanwhile): fenced tries write nothing more, and must not run on."""
        tries = self.executor.running_tries()
        self.killed &= set(tries.items())  # forget the tries whose processes ended
        if not tries:
            self.gone_since.clear()
            return []
        live = {ti.key: ti.token for ti in self.store.list_task_instances_in_states([decisions.QUEUED,
                                                                                      decisions.RUNNING])}
        self.release_lost(tries, state.fenced(tries, live), utcnow())
        tokens: dict[tuple[str, str, str, int], str | None] = {}
        for key in state.fenced(tries, live):  # rare: just finished, or fenced. Read the row to know which
            dag_id, run_id, task_id, map_index = key
            try:
                tokens[key] = self.store.get_task_instance(dag_id, run_id, task_id, map_index).token
            except NotFound:  # a mapped task cleared back to its placeholder
                tokens[key] = None
        killed = [k for k in state.fenced({k: tries[k] for k in tokens}, tokens) if (k, tries[k]) not in self.killed]
        for key in killed:  # once per try: the executor escalates to SIGKILL by itself
            self.killed.add((key, tries[key]))
            log.info("%s.%s (%s): the try was cleared or marked while it ran: killing it", key[0], key[2], key[1])
            self.executor.kill(key, tries[key])
        return killed

    def release_lost(self, tries: dict[tuple[str, str, str, int], str], ended: list[tuple[str, str, str, int]],
                     now: datetime) -> None:
        """Tries the store has moved on from (finished, failed for a lost heartbeat, or fenced)
        whose process end the executor never reported after a heartbeat timeout: their worker
        died with them (Celery: no result will come). The executor forgets them, or their
        slots would be held forever."""
        current = {(key, tries[key]) for key in ended}
        self.gone_since = {k: t for k, t in self.gone_since.items() if k in current}
        for key_token in current:
            since = self.gone_since.setdefault(key_token, now)
            if now - since > self.heartbeat_timeout:
                log.warning("%s.%s (%s): its process never reported its end: releasing its executor slot",
                            key_token[0][0], key_token[0][2], key_token[0][1])
                self.executor.forget(*key_token)
                del self.gone_since[key_token]

    def fail_try(self, ti: TaskInstance, now: datetime, note: str) -> None:
        spec = self.spec(ti.dag_id)
        task = spec.task_map.get(ti.task_id)
        run = self.store.get_dag_run(ti.dag_id, ti.run_id)
        if task is None:
            outcome = decisions.FailureOutcome(decisions.FAILED, None)
        else:
            outcome = decisions.on_failure(task, ti.try_number, ti.max_tries, now, ti.dag_id, run.logical_date)
        moved = state.transition(self.store, ti.dag_id, ti.run_id, [
            Transition((ti.task_id, ti.map_index), ti.state, outcome.state, outcome.next_retry_at, note,
                       token=ti.token)], now)
        if moved:
            log.info("%s.%s (%s) try %s: %s -> %s", ti.dag_id, ti.task_id, ti.run_id, ti.try_number, note,
                        outcome.state)
            if self.tracking is not None:
                self.tracking.fail_try(ti.tracking_run_id)
            self._notify(dataclasses.replace(ti, state=outcome.state), outcome.state, note)

    def check_liveness(self, now: datetime) -> bool:
        changed = False
        known = self.executor.running()
        specs: dict[str, DagSpec] = {}
        live: set[str] | None = None  # schedulers alive, read when first needed
        for ti in self.store.list_task_instances_in_states([decisions.RUNNING, decisions.QUEUED]):
            if not self._mine(ti.dag_id, ti.run_id):
                continue
            if ti.state == decisions.RUNNING:
                if decisions.is_stale(ti.heartbeat_at, now, self.heartbeat_timeout):
                    self.executor.kill(ti.key, ti.token)
                    self.fail_try(ti, now, f"no heartbeat for more than {self.heartbeat_timeout.total_seconds():g} s "
                                  "(the task process died)")
                    changed = True
                    continue
                if ti.dag_id not in specs:
                    specs[ti.dag_id] = self.spec(ti.dag_id)
                task = specs[ti.dag_id].task_map.get(ti.task_id)
                if task is not None and decisions.is_timed_out(ti.start_date, task.execution_timeout, now):
                    self.executor.kill(ti.key, ti.token)
                    self.fail_try(ti, now, f"exceeded execution_timeout of {task.execution_timeout:g} s")
                    changed = True
            elif ti.queued_at is not None and now - ti.queued_at > self.queued_timeout:
                # Queued by a scheduler that went away before its executor started the
                # process, or by this one, whose executor forgot it or never started it (a
                # broker that lost the message): queue it again. A late process can't start it
                # (its token is stale). Another live scheduler's executor may still hold it:
                # that one decides.
                if ti.key in known:
                    self.executor.kill(ti.key, ti.token)  # e.g. revoke the Celery message
                    self.executor.forget(ti.key, ti.token or "")
                elif ti.queued_by not in (None, self.name):
                    if live is None:
                        live = self.store.live_schedulers(now)
                    if ti.queued_by in live:
                        continue
                state.transition(self.store, ti.dag_id, ti.run_id, [
                    Transition((ti.task_id, ti.map_index), decisions.QUEUED, decisions.SCHEDULED,
                               note="re-queued: its process never started", token=ti.token)], now)
                changed = True
        return changed

    # Runs -------------------------------------------------------------------------------------
    def create_due_runs(self, now: datetime, held: set[str]) -> bool:
        """Create the runs that are due of the DAGs in ``held`` (see claim_dags)."""
        created = False
        for dag_id, (_, is_paused) in sorted(self.dag_hashes.items()):
            if is_paused or dag_id not in held:
                continue
            spec = self.spec(dag_id)
            if (spec.timetable or {}).get("kind", "none") == "none":
                continue
            if spec.timetable.get("kind") == PartitionedAssetTimetable.kind:
                created |= self.create_partition_runs(spec, now)
                continue
            condition = asset_condition(spec.timetable)
            if condition is not None:
                created |= self.create_asset_run(spec, condition, now)
            timetable = deserialize_timetable(spec.timetable)
            restriction = Restriction(
                earliest=datetime.fromisoformat(spec.start_date) if spec.start_date else None,
                latest=datetime.fromisoformat(spec.end_date) if spec.end_date else None,
                catchup=spec.catchup,
            )
            for _ in range(100):  # catch up in bounded steps per tick
                last = self.store.last_automated_run(spec.dag_id)
                info = self.next_info(spec, timetable, last, restriction, now)
                if info is None or info.run_after > now:
                    break
                active = self.store.list_dag_runs(spec.dag_id, states=[decisions.RUN_QUEUED, decisions.RUN_RUNNING],
                                                  limit=spec.max_active_runs + 1)
                if len(active) >= spec.max_active_runs:
                    break
                try:
                    run_ops.create_dag_run(self.store, self.tracking, spec, run_type="scheduled", now=now, info=info)
                    created = True
                except AlreadyExists:
                    break
        return created

    def next_info(self, spec: DagSpec, timetable: Timetable, last: DagRun | None, restriction: Restriction,
                  now: datetime) -> DagRunInfo | None:
        """The DAG's next scheduled run after ``last``. A user's timetable is asked in a child
        process once per last run (as Airflow computes next_dagrun once per run it creates), not
        every tick; if it fails, it is asked again after CUSTOM_RETRY."""
        interval = (last.data_interval_start, last.data_interval_end) if last else None
        if not isinstance(timetable, CustomTimetable):
            return timetable.next_run(last.logical_date if last else None, interval, restriction, now)
        key = (json.dumps(spec.timetable, sort_keys=True), last.run_id if last else None, restriction)
        cached = self.custom_next.get(spec.dag_id)
        if cached is not None and cached[0] == key and (cached[2] or now - cached[3] < CUSTOM_RETRY):
            return cached[1]
        try:
            info, answered = timetable.next_run(last.logical_date if last else None, interval, restriction, now), True
        except InvalidInput as exc:
            log.warning("%s: no next run: %s", spec.dag_id, exc.message)
            info, answered = None, False
        self.custom_next[spec.dag_id] = (key, info, answered, now)
        return info

    def create_asset_run(self, spec: DagSpec, condition: dict[str, Any], now: datetime) -> bool:
        """A run of ``spec`` when its asset condition holds over the assets updated since its
        last asset-triggered run. The run consumes those updates in the transaction that
        creates it, so each update starts one run, also across a crash or a rival scheduler."""
        updated = self.assets.queued(spec.dag_id)
        if not updated:
            return False
        resolved = self.assets.resolutions() if any(asset_triggers.alias_names(condition)) else {}
        if not asset_triggers.holds(condition, updated, resolved):
            return False
        run_id = f"asset_triggered__{now.isoformat()}"
        names = asset_triggers.consumed(condition, updated, resolved)
        try:
            run_ops.create_dag_run(self.store, self.tracking, spec, "asset_triggered", now, run_id=run_id,
                                   within=lambda conn: self.assets.consume_in(conn, spec.dag_id, run_id, names))
        except (AlreadyExists, Conflict):
            return False
        log.info("%s: asset-triggered run %s (updated: %s)", spec.dag_id, run_id, ", ".join(sorted(names)))
        return True

    def create_partition_runs(self, spec: DagSpec, now: datetime) -> bool:
        """A run per pending partition of ``spec`` whose events satisfy its condition (see
        scheduler/partition_runs.py); each run takes its partition in the transaction that
        creates it, so a partition starts one run, also across a crash or a rival scheduler."""
        timetable = PartitionedAssetTimetable.from_parts(spec.timetable)
        created = False
        for pending in self.partitions.pending(spec.dag_id):
            if not partition_runs.ready(timetable, pending.partition_key, pending.arrivals):
                continue
            date = partition_runs.partition_date(timetable, pending.partition_key,
                                                 (a.asset_name for a in pending.arrivals))
            info = dataclasses.replace(timetable.manual_info(now), partition_key=pending.partition_key,
                                       partition_date=date)
            run_id = f"asset_triggered__{datetime.now(UTC).isoformat()}"  # one per run, several per tick
            take = functools.partial(self.partitions.take_in, pending=pending, run_id=run_id)
            try:
                run_ops.create_dag_run(self.store, self.tracking, spec, "asset_triggered", now, run_id=run_id,
                                       info=info, within=take)
            except (AlreadyExists, Conflict):
                continue
            log.info("%s: asset-triggered run %s for partition %r", spec.dag_id, run_id, pending.partition_key)
            created = True
        return created

    def start_queued_runs(self, now: datetime, specs: dict[str, DagSpec], queued: list[DagRun],
                          held: set[str]) -> bool:
        """Start the ``queued`` runs of the DAGs in ``held`` (see claim_dags) within max_active_runs."""
        queued = [r for r in queued if r.dag_id in held]
        if not queued:
            return False
        self.dag_hashes = self.store.dag_hashes()  # paused flags as of now, not of the tick's start
        started = False
        running = self.store.list_dag_runs(states=[decisions.RUN_RUNNING], limit=10_000)
        active_by_dag: dict[str, int] = {}
        for run in running:
            active_by_dag[run.dag_id] = active_by_dag.get(run.dag_id, 0) + 1
        for run in queued:
            if not self._mine(run.dag_id, run.run_id, run.run_type):
                continue
            known = self.dag_hashes.get(run.dag_id)
            if known is not None:
                is_paused, spec = known[1], specs.get(run.dag_id) or self.spec(run.dag_id)
            else:  # an inactive DAG (its file is gone): not in the tick's list
                try:
                    record = self.store.get_dag(run.dag_id)
                except Exception:
                    continue
                is_paused, spec = record.is_paused, specs.get(run.dag_id) or DagSpec.from_dict(record.spec)
            if is_paused and run.run_type not in ("test", "backfill"):
                continue
            specs[run.dag_id] = spec
            if active_by_dag.get(run.dag_id, 0) >= spec.max_active_runs and run.run_type != "test":
                continue
            if state.transition_run(self.store, run, decisions.RUN_RUNNING, now) is None:
                continue  # changed meanwhile (e.g. cleared again): the next tick reads it afresh
            active_by_dag[run.dag_id] = active_by_dag.get(run.dag_id, 0) + 1
            started = True
        return started

    def _read_run(self, run: DagRun) -> tuple[dict[tuple[str, int], decisions.TIView],
                                              dict[tuple[str, int], TaskInstance] | None]:
        """The run's task instances as decisions see them, plus the full records when someone
        listens to state changes (``dags test``), who is told about the new ones here."""
        if self.on_state is None:  # the scheduler service: large runs, read only what decisions need
            states = self.store.list_task_instance_states(run.dag_id, run.run_id)
            return {(r[0], r[1]): decisions.TIView(*r) for r in states}, None
        tis = self.store.list_task_instances(run.dag_id, run.run_id)
        for t in tis:
            if t.state is not None and self.seen.get(t.key) != t.state:
                self.seen[t.key] = t.state
                self._notify(t, t.state, t.note if t.state in (decisions.FAILED, decisions.UP_FOR_RETRY) else None)
        return _views(tis), {(t.task_id, t.map_index): t for t in tis}

    def process_run(self, run: DagRun, spec: DagSpec, now: datetime) -> tuple[
            bool, list[tuple[decisions.Candidate, decisions.TIView, DagSpec]], state.RunState | None]:
        """Decide one run and write its task instances; returns (changed, ready to queue, the
        run's final state when it is over, for :meth:`finish_run` to write)."""
        changed = False
        for _ in range(len(spec.tasks) + 2):  # expansions may unlock further decisions
            views, full = self._read_run(run)
            decision = decisions.decide_run(spec, views, now)
            if decision.to_expand:
                lengths = self.store.output_lengths(run.dag_id, run.run_id)
                for task_id in decision.to_expand:
                    length = decisions.map_length(spec.task_map[task_id], lengths)
                    state.expand(self.store, run.dag_id, run.run_id, task_id, length)
                changed = True
                continue
            if decision.changes:
                transitions = [Transition(k, views[k].state, s) for k, s in decision.changes.items()]
                moved = state.transition(self.store, run.dag_id, run.run_id, transitions, now)
                changed |= bool(moved)
                if full is not None:
                    for k in moved:
                        self._notify(dataclasses.replace(full[k], state=decision.changes[k]), decision.changes[k])
            if decision.run_state is not None:
                if decision.run_state == decisions.RUN_FAILED and any(
                        t.state in (decisions.QUEUED, decisions.RUNNING) for t in views.values()):
                    break  # deadlock verdicts wait for in-flight tries
                return changed, [], decision.run_state
            ready = []
            tasks = spec.task_map
            for key in decision.to_schedule:
                ti = views[key]
                task = tasks[key[0]]
                ready.append((decisions.Candidate(run.dag_id, run.run_id, key[0], key[1], task.priority_weight,
                                                  task.pool, task.pool_slots,
                                                  (run.logical_date.isoformat(), run.run_id)), ti, spec))
            for ti in views.values():
                if ti.state == decisions.SCHEDULED:
                    waiting = tasks.get(ti.task_id)
                    if waiting is not None:
                        ready.append((decisions.Candidate(run.dag_id, run.run_id, ti.task_id, ti.map_index,
                                                          waiting.priority_weight, waiting.pool, waiting.pool_slots,
                                                          (run.logical_date.isoformat(), run.run_id)), ti, spec))
            return changed, ready, None
        return changed, [], None

    def finish_run(self, run: DagRun, final: state.RunState, now: datetime, reason: str | None = None) -> bool:
        """Move ``run`` to its final state (compare-and-set on the state it was read in); True
        either way: if it was cleared or marked meanwhile, the next tick decides it again. The
        DAG's on_success/on_failure callbacks then run in a process of their own (the
        scheduler never runs user code)."""
        if state.transition_run(self.store, run, final, now) is None:
            return True
        if self.tracking is not None:
            self.tracking.finish(run.tracking_run_id, final)
        self._notify(None, final, run.run_id)
        spec = self.spec(run.dag_id)
        if spec.has_callbacks:
            # Airflow's reasons: "success" (the run's state) or "task_failure" (or "timed_out")
            reason = reason or (final.value if final == state.RunState.SUCCESS else "task_failure")
            self.callbacks.append(subprocess.Popen(
                [sys.executable, "-m", "trackflow.pipelines.runtime.dag_callbacks", self.db_uri, spec.fileloc,
                 run.dag_id, run.run_id, str(final), reason],
                env={**os.environ, **self.settings.to_environ()}, start_new_session=True))
        return True

    def reap_callbacks(self) -> None:
        """Collect the DAG-callback processes that ended (no zombies)."""
        self.callbacks = [p for p in self.callbacks if p.poll() is None]

    def queue_ready(self, ready: list[tuple[decisions.Candidate, decisions.TIView, DagSpec]],
                    specs: dict[str, DagSpec], now: datetime) -> bool:
        if not ready:
            return False
        pool_used, run_used = self.store.active_counts()
        pool_open = {name: slots - pool_used.get(name, 0) for name, slots in self.store.pool_slots().items()}
        run_open = {}
        for cand, _, spec in ready:
            run_key = (cand.dag_id, cand.run_id)
            run_open[run_key] = spec.max_active_tasks - run_used.get(run_key, 0)
        chosen = decisions.select_to_queue([c for c, _, _ in ready], pool_open, run_open, self.executor.open_slots())
        chosen_keys = {(c.dag_id, c.run_id, c.task_id, c.map_index) for c in chosen}
        by_run: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for cand in chosen:
            by_run.setdefault((cand.dag_id, cand.run_id), []).append((cand.task_id, cand.map_index))
        # What can't go yet waits as "scheduled".
        waiting: dict[tuple[str, str], list[Transition]] = {}
        for cand, ti, _ in ready:
            chosen_now = (cand.dag_id, cand.run_id, cand.task_id, cand.map_index) in chosen_keys
            if not chosen_now and ti.state != decisions.SCHEDULED:
                waiting.setdefault((cand.dag_id, cand.run_id), []).append(
                    Transition((cand.task_id, cand.map_index), ti.state, decisions.SCHEDULED))
        for (dag_id, run_id), transitions in waiting.items():
            state.transition(self.store, dag_id, run_id, transitions, now)
        spec_of = {spec.dag_id: spec for _, _, spec in ready}
        settings = dataclasses.asdict(self.settings)
        for (dag_id, run_id), keys in by_run.items():
            for queued in state.queue(self.store, dag_id, run_id, keys, now, queued_by=self.name):
                workload = TaskWorkload(
                    dag_id=dag_id, run_id=run_id, task_id=queued.task_id, map_index=queued.map_index,
                    try_number=queued.try_number, token=queued.token or "", fileloc=spec_of[dag_id].fileloc,
                    db_uri=self.db_uri, settings=settings, heartbeat_interval=self.heartbeat_interval,
                    pool=queued.pool, priority_weight=queued.priority_weight,
                    queue=spec_of[dag_id].task_map[queued.task_id].queue,
                    resume_tracking_run_id=(queued.tracking_run_id or "") if queued.resumes else "",
                )
                self._notify(queued, decisions.QUEUED)
                self.executor.queue_workload(workload)
        return bool(chosen) or bool(waiting)

    def run_until_done(self, dag_id: str, run_id: str, poll: float = 0.05) -> str:
        """Tick until the run ends; returns its final state (used by ``dags test`` and backfills)."""
        while True:
            busy = self.tick()
            run = self.store.get_dag_run(dag_id, run_id)
            if run.state in (decisions.RUN_SUCCESS, decisions.RUN_FAILED) and not self.executor.running():
                for proc in self.callbacks:  # `dags test` ends after its DAG callbacks
                    try:
                        proc.wait(timeout=300)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                self.reap_callbacks()
                return run.state
            if not busy:
                self.executor.wait(poll)
