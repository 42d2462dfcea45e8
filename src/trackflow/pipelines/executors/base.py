"""The executor interface: the scheduler's only view of how tasks are run.

An executor receives :class:`TaskWorkload` s (plain, JSON-serializable descriptions of one
task try), starts each in a process of its own (locally, or on a worker for a distributed
executor) and reports :class:`ExecutorEvent` s when those processes end. It never decides
anything: the task process itself claims its try in the store (compare-and-set on the
try's token), heartbeats, and records its final state; the scheduler reconciles exit events
and missing heartbeats. So a Celery executor only has to ship the workload JSON to a worker
that calls :func:`trackflow.pipelines.runtime.task_runner.run_workload`.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trackflow.config import Settings

WorkloadKey = tuple[str, str, str, int]  # dag_id, run_id, task_id, map_index


@dataclass(frozen=True)
class TaskWorkload:
    """Everything a task process needs to run one try, and nothing it can't serialize."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int
    token: str  # proves ownership of the try in the store
    fileloc: str  # the DAG file to load
    db_uri: str  # the pipeline store (the local fast path); "" when the try talks to ``api_url``
    settings: dict[str, Any] = field(default_factory=dict)  # trackflow Settings fields
    heartbeat_interval: float = 5.0
    pool: str = "default_pool"
    priority_weight: int = 1
    queue: str = "default"
    api_url: str = ""  # the server's task API (workers without database credentials)
    resume_tracking_run_id: str = ""  # the try goes on (after a deferral or a reschedule) in this tracked run

    @property
    def key(self) -> WorkloadKey:
        return (self.dag_id, self.run_id, self.task_id, self.map_index)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> TaskWorkload:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ExecutorEvent:
    """A task process ended. ``exit_code`` is negative for a signal (``-9``: SIGKILL)."""

    key: WorkloadKey
    token: str
    exit_code: int


class BaseExecutor(ABC):
    """Runs workloads; at most ``parallelism`` at once."""

    def __init__(self, parallelism: int = 8) -> None:
        self.parallelism = parallelism

    def start(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Acquire resources (worker processes, connections). Idempotent."""

    @abstractmethod
    def queue_workload(self, workload: TaskWorkload) -> None:
        """Start running ``workload`` soon. Must not block on the task itself."""

    @abstractmethod
    def poll(self) -> list[ExecutorEvent]:
        """Events for task processes that ended since the last call."""

    @abstractmethod
    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        """Stop the task process of ``key`` (SIGTERM, then SIGKILL after a grace period); with
        ``token``, only the process of that try (not a newer try of the same task instance).
        Unknown keys are ignored."""

    def health(self) -> dict[str, Any]:
        """``{"ok": bool, "reason": str (when not ok), ...details}`` for ``/health``: whether
        this executor can run tasks now. Called on a started executor; must answer quickly."""
        return {"ok": True}

    def forget(self, key: WorkloadKey, token: str) -> None:  # noqa: B027 - optional hook
        """Stop counting the try ``token`` of ``key`` as running: the scheduler found its process
        gone without a report (e.g. its worker machine died). Executors that always learn of
        their processes' ends need not do anything."""

    @abstractmethod
    def running_tries(self) -> dict[WorkloadKey, str]:
        """Key -> try token of the workloads whose processes have not ended yet (as far as known)."""

    def running(self) -> set[WorkloadKey]:
        """Keys of workloads whose processes have not ended yet (as far as known)."""
        return set(self.running_tries())

    def wait(self, timeout: float) -> None:
        """Block until an event may be available or ``timeout`` seconds passed."""
        time.sleep(timeout)

    def open_slots(self) -> int:
        return max(0, self.parallelism - len(self.running()))

    def stop(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release resources. Running task processes are left to finish on their own: they
        record their results themselves, so nothing is lost when the scheduler goes away."""


def executor_for(settings: Settings) -> BaseExecutor:
    """The executor ``settings.executor`` names."""
    if settings.executor == "celery":
        from trackflow.pipelines.executors.celery import CeleryExecutor

        return CeleryExecutor(settings)
    from trackflow.pipelines.executors.local import LocalExecutor

    return LocalExecutor(settings.parallelism)
