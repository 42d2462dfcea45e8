"""The pipeline store interface: DAGs, runs, task instances, outputs, lineage, pools.

Implemented by ``sql.pipeline_store.SqlPipelineStore``. Every method is one transaction.
Task-instance transitions are compare-and-set: a method that moves a task instance names
the state (and executor token) it expects, and reports whether the row really moved, so two
schedulers, or a scheduler and a task process, never both act on the same try. States
written are ``TIState``/``RunState`` members (entities/pipelines.py), stored as their plain
strings; states read back are those strings.
Unknown ids raise NotFound, bad values InvalidInput, duplicates AlreadyExists.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from trackflow.entities.pipelines import (
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

TIKey = tuple[str, int]  # (task_id, map_index) inside one DAG run

# More writes of another store in the same transaction, given its connection (e.g. the asset
# events of a task's success, the asset updates a new run consumes); raising aborts it all.
Within = Callable[[Any], object]


@dataclass(frozen=True)
class NewTaskInstance:
    task_id: str
    map_index: int = -1
    max_tries: int = 0
    priority_weight: int = 1
    pool: str = "default_pool"
    pool_slots: int = 1
    operator: str = ""


@dataclass(frozen=True)
class GridCell:
    """What the UI's grid shows of one task instance (no token, no deferral details)."""

    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_number: int


@dataclass(frozen=True)
class Transition:
    """Move ``key`` from ``expected`` to ``state`` (skipped if the row is no longer ``expected``)."""

    key: TIKey
    expected: str | None
    state: TIState | None
    next_retry_at: datetime | None = None
    note: str | None = None
    token: str | None = None  # if set, the row must also still hold this try token


@dataclass(frozen=True)
class Deferral:
    """What a deferring try leaves behind: the trigger to run (class path and JSON arguments),
    the method to resume with and its JSON arguments, and when the wait times out."""

    classpath: str
    trigger_kwargs: str
    next_method: str
    next_kwargs: str
    timeout_at: datetime | None = None


class PipelineStore(Protocol):
    # DAGs ---------------------------------------------------------------------------------
    def sync_dags(self, specs: Sequence[Mapping[str, Any]], import_errors: Mapping[str, str],
                  parsed_files: Sequence[str] | None, now: datetime, paused_by_default: bool = False) -> None:
        """Upsert parsed DAGs (serialized specs) and the import errors of ``parsed_files``.

        DAGs whose file is in ``parsed_files`` but that were not found are marked inactive;
        errors of those files are replaced. ``parsed_files=None`` touches only the given DAGs.
        """

    def get_dag(self, dag_id: str) -> DagRecord:
        """NotFound if the dag_id was never parsed."""

    def list_dags(self, include_inactive: bool = False) -> list[DagRecord]: ...

    def set_paused(self, dag_id: str, paused: bool) -> DagRecord: ...

    def list_import_errors(self) -> list[ImportErrorRecord]: ...

    # DAG runs -----------------------------------------------------------------------------
    def create_dag_run(self, run: DagRun, task_instances: Sequence[NewTaskInstance],
                       within: Within | None = None) -> DagRun:
        """Insert a run and its task instances (and ``within``'s writes, atomically).
        AlreadyExists if the run_id is taken, or a scheduled/backfill run already covers that
        logical date."""

    def get_dag_run(self, dag_id: str, run_id: str) -> DagRun: ...

    def list_dag_runs(self, dag_id: str | None = None, states: Sequence[str] | None = None,
                      limit: int = 100, offset: int = 0, newest_first: bool = True) -> list[DagRun]: ...

    def last_automated_run(self, dag_id: str) -> DagRun | None:
        """The scheduled or backfill run with the latest logical date."""

    def recent_runs_by_dag(self, per_dag: int) -> dict[str, list[DagRun]]:
        """Up to ``per_dag`` runs of each DAG that has runs, newest logical date first, read
        in one query (the DAG list's coloured squares)."""

    def last_automated_dates(self) -> dict[str, datetime]:
        """Per DAG with any, the latest logical date of its scheduled or backfill runs (one
        query): where the next scheduled run is computed from."""

    def update_dag_run(self, dag_id: str, run_id: str, state: RunState, now: datetime,
                       tracking_run_id: str | None = None, experiment_id: str | None = None) -> DagRun:
        """Set the state (start_date set on running, end_date on success/failed) without
        checking the state it had: for fixtures. Transitions use :meth:`cas_dag_run`."""

    def cas_dag_run(self, dag_id: str, run_id: str, expected: str, state: RunState, now: datetime) -> DagRun | None:
        """Move the run from ``expected`` to ``state`` (times as :meth:`update_dag_run`); None
        if it is no longer ``expected``, NotFound if it does not exist."""

    # Task instances -----------------------------------------------------------------------
    def list_task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]: ...

    def task_instance_grid(self, dag_id: str, run_ids: Sequence[str]) -> list[GridCell]:
        """Every task instance of these runs of ``dag_id`` (unknown run ids have none), read in
        one query, in no particular order: the UI's runs x tasks grid."""

    def get_task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance: ...

    def list_task_instances_in_states(self, states: Sequence[str]) -> list[TaskInstance]: ...

    def list_task_instance_states(
        self, dag_id: str, run_id: str
    ) -> list[tuple[str, int, str | None, int, int, datetime | None]]:
        """(task_id, map_index, state, try_number, max_tries, next_retry_at) of each task instance
        of the run, in list_task_instances order: all that scheduling decisions read."""
        ...

    def dag_hashes(self) -> dict[str, tuple[str, bool]]:
        """dag_id -> (spec hash, is_paused) of every active DAG."""
        ...

    def apply_transitions(self, dag_id: str, run_id: str, transitions: Sequence[Transition],
                          now: datetime) -> list[TIKey]:
        """Apply compare-and-set transitions (on the state read and, when given, the try
        token); return the keys that moved. Called through ``pipelines.state`` only."""

    def expand_task(self, dag_id: str, run_id: str, task_id: str, length: int | None) -> None:
        """Replace a mapped task's placeholder (map_index -1) by ``length`` instances; 0 skips
        it, None fails it."""

    def queue_task_instances(self, dag_id: str, run_id: str, keys: Sequence[TIKey],
                             now: datetime, queued_by: str | None = None) -> list[TaskInstance]:
        """scheduled -> queued with try_number + 1, a fresh token and ``queued_by`` (the
        scheduler's name); returns those moved."""

    def start_try(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime, hostname: str,
                  pid: int, log_path: str, tracking_run_id: str | None) -> TaskInstance:
        """queued -> running for the holder of ``token``; Conflict otherwise (the try was
        cleared, re-queued or taken by another process). Clears the outputs of earlier tries."""

    def heartbeat(self, dag_id: str, run_id: str, key: TIKey, token: str, now: datetime) -> bool:
        """Record that the try holding ``token`` is alive; False if it no longer owns the row."""

    def finish_try(self, dag_id: str, run_id: str, key: TIKey, token: str, state: TIState, now: datetime,
                   next_retry_at: datetime | None = None, skip_task_ids: Sequence[str] = (),
                   note: str | None = None, within: Within | None = None, deferral: Deferral | None = None,
                   skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
        """running -> ``state`` for the holder of ``token`` (with the try's ``rendered_map_index``,
        when it has one: kept otherwise) and, in the same transaction,
        skip the not-yet-started ``skip_task_ids`` (branching; ``skip_at_own_index`` only at
        this try's map index: tasks of its mapped task group) and run ``within``. False (and
        nothing written) if the try no longer owns the row. ``deferred`` comes with the
        ``deferral`` (its trigger is stored with it); ``up_for_reschedule`` with the time of
        the next poke in ``next_retry_at``."""

    def set_log_artifact(self, dag_id: str, run_id: str, key: TIKey, try_number: int, location: str) -> None: ...

    def list_tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[TaskTry]: ...

    def clear_task_instances(self, dag_id: str, run_id: str, task_ids: Sequence[str],
                             retries: Mapping[str, int], now: datetime) -> list[TaskInstance]:
        """Reset the task instances of ``task_ids`` (a mapped task back to its placeholder)
        so they run again with ``retries`` more tries; the run goes back to queued. A live
        try loses its token (fenced) and its try row ends. Returns the rows as they were."""

    def mark_task_instances(self, dag_id: str, run_id: str, task_ids: Sequence[str], state: TIState,
                            now: datetime) -> list[TaskInstance]:
        """Force a state (success/failed/skipped); a live try loses its token (fenced); a
        finished run goes back to running so the scheduler recomputes its state. Returns the
        rows as they were."""

    # Outputs and lineage ------------------------------------------------------------------
    def put_output(self, output: TaskOutput, now: datetime, token: str | None = None) -> bool:
        """Store a value (replacing one under the same key). With ``token``, only while that try
        holds the running task instance: False (nothing written) once it was fenced."""

    def states_at(self, dag_id: str, logical_dates: Sequence[datetime],
                  task_ids: Sequence[str] | None, task_group_id: str | None = None) -> list[str | None]:
        """What another DAG's runs at ``logical_dates`` are at: the states of their task
        instances of ``task_ids`` (every map index) or of every task in ``task_group_id``
        (nested groups included), or of the runs themselves when neither is given
        (ExternalTaskSensor). A date without a run contributes nothing; a date with several
        runs, its latest."""

    def get_outputs(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> list[TaskOutput]:
        """All map indexes' outputs of a task for ``key``, ordered by map_index."""

    def output_lengths(self, dag_id: str, run_id: str) -> dict[tuple[str, str], int | None]:
        """(task_id, key) -> length of the stored value (summed over map indexes)."""

    def record_lineage(self, edges: Sequence[LineageEdge]) -> None: ...

    def get_lineage(self, dag_id: str, run_id: str) -> list[LineageEdge]: ...

    # The scheduler lease ---------------------------------------------------------------------
    def acquire_scheduler_lease(self, holder: str, now: datetime, ttl_seconds: float,
                                take_over: str | None = None) -> tuple[bool, str]:
        """Take or renew the one scheduler lease of this database for ``ttl_seconds``: won if
        it is free, expired, already ``holder``'s, or held by ``take_over`` (a holder known to
        be dead). Returns (won, the holder after the call)."""

    def release_scheduler_lease(self, holder: str) -> None:
        """Give the lease up if ``holder`` has it (and its presence, below)."""

    def beat_scheduler(self, holder: str, now: datetime, ttl_seconds: float) -> None:
        """Scheduler ``holder`` is alive for ``ttl_seconds`` more (several may run on PostgreSQL)."""

    def live_schedulers(self, now: datetime) -> set[str]:
        """The holder names of the schedulers alive as of ``now``."""

    # Dividing work between schedulers (PostgreSQL; on SQLite these lock nothing) ------------
    def claim_runs(self, state: str, limit: int, keys: Collection[tuple[str, str]] | None = None,
                   exclude_run_type: str | None = None) -> AbstractContextManager[list[DagRun]]:
        """Runs in ``state`` that no other scheduler holds, held by this one until the block
        ends (row locks, SKIP LOCKED). Do not update them inside the block."""

    def claim_dags(self, dag_ids: Collection[str]) -> AbstractContextManager[set[str]]:
        """The DAGs among ``dag_ids`` no other scheduler holds, held until the block ends: run
        creation and starting queued runs (max_active_runs) happen under it."""

    def lock_pools(self) -> AbstractContextManager[None]:
        """All pools, held until the block ends (waiting for another holder): slots are
        counted and task instances queued under it."""

    # Pools and capacity -------------------------------------------------------------------
    def set_pool(self, name: str, slots: int, description: str = "") -> Pool: ...

    def list_pools(self) -> list[Pool]: ...

    def delete_pool(self, name: str) -> None: ...

    def active_counts(self) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        """Slots used per pool and task instances per run, over queued and running ones."""
