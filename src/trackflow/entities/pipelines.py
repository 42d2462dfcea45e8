"""Pipeline records: DAGs as parsed, DAG runs, task instances and their tries, outputs, and
the states of task instances and DAG runs."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class TIState(enum.StrEnum):
    """Task-instance states (Airflow's names; a task instance with no state yet has ``None``).
    Members are ``str``, so they are stored, compared and sent as these plain strings; who may
    move a task instance between them is decided in pipelines/state.py alone."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    SKIPPED = "skipped"
    UPSTREAM_FAILED = "upstream_failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"  # a sensor in reschedule mode, between two pokes
    DEFERRED = "deferred"  # waiting on a trigger in the triggerer, holding no worker slot
    REMOVED = "removed"


class RunState(enum.StrEnum):
    """DAG-run states (Airflow's names), stored as these plain strings."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"


FINISHED_TI = frozenset({TIState.SUCCESS, TIState.FAILED, TIState.SKIPPED, TIState.UPSTREAM_FAILED,
                         TIState.REMOVED})
ACTIVE_TI = frozenset({TIState.QUEUED, TIState.RUNNING})  # a try holds a token
FINISHED_RUN = frozenset({RunState.SUCCESS, RunState.FAILED})
MARKABLE = frozenset({TIState.SUCCESS, TIState.FAILED, TIState.SKIPPED})  # what an operator may mark


@dataclass(frozen=True)
class DagRecord:
    """A DAG as last parsed. ``spec`` is the serialized DAG (see pipelines/spec.py)."""

    dag_id: str
    fileloc: str
    is_paused: bool
    is_active: bool
    last_parsed: datetime | None
    spec: dict[str, Any]

    @property
    def schedule(self) -> str | None:
        value = self.spec.get("schedule")
        return None if value is None else str(value)


@dataclass(frozen=True)
class ImportErrorRecord:
    fileloc: str
    stacktrace: str
    timestamp: datetime


@dataclass(frozen=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str
    run_type: str  # manual | scheduled | backfill | test
    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_after: datetime
    conf: dict[str, Any] = field(default_factory=dict)
    queued_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    tracking_run_id: str | None = None
    experiment_id: str | None = None
    partition_key: str | None = None  # the partition this run is for (partitioned assets)
    partition_date: datetime | None = None


@dataclass(frozen=True)
class TaskInstance:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    priority_weight: int = 1
    pool: str = "default_pool"
    pool_slots: int = 1
    operator: str = ""
    queued_at: datetime | None = None
    start_date: datetime | None = None
    end_date: datetime | None = None
    next_retry_at: datetime | None = None
    heartbeat_at: datetime | None = None
    hostname: str | None = None
    pid: int | None = None
    token: str | None = None
    tracking_run_id: str | None = None
    note: str | None = None
    queued_by: str | None = None  # the scheduler that queued the current try
    # Deferral: the method to resume with (or "__fail__"), its JSON arguments (the trigger's
    # event among them), the trigger waited on and the deadline of that wait.
    next_method: str | None = None
    next_kwargs: str | None = None
    trigger_id: int | None = None
    trigger_timeout: datetime | None = None
    reschedule_start: datetime | None = None  # first poke of a sensor try that reschedules
    rendered_map_index: str | None = None  # a mapped task instance's label (its map_index_template)

    @property
    def resumes(self) -> bool:
        """Whether the current try continues one that deferred or rescheduled (same try number)."""
        return self.next_method is not None or self.reschedule_start is not None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.dag_id, self.run_id, self.task_id, self.map_index)

    @property
    def duration(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return (self.end_date - self.start_date).total_seconds()


@dataclass(frozen=True)
class TaskTry:
    """One attempt of a task instance, with where its log lives."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    hostname: str | None
    pid: int | None
    tracking_run_id: str | None
    log_path: str | None  # local file while running / on the machine that ran it
    log_artifact: str | None  # "<run_id>:<artifact path>" once uploaded


@dataclass(frozen=True)
class TaskOutput:
    """A value a task produced: inline bytes (small) or an artifact location (large)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    key: str
    serializer: str
    data: bytes | None
    uri: str | None
    size_bytes: int
    length: int | None  # len() of a list/tuple/dict value, for mapping


@dataclass(frozen=True)
class LineageEdge:
    dag_id: str
    run_id: str
    producer_task_id: str
    producer_map_index: int
    key: str
    consumer_task_id: str
    consumer_map_index: int


@dataclass(frozen=True)
class Pool:
    name: str
    slots: int
    description: str = ""
    occupied: int = 0
