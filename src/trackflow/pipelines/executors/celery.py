"""The Celery executor: task tries run on ``trackflow worker`` processes, anywhere.

The scheduler sends each workload (JSON) to the task's Celery queue (``queue=`` on the task,
``default`` otherwise) through the broker (Redis by default, RabbitMQ too). A worker forks one
process per try, as the local executor does, and that process talks to the server's task API
with its try token (runtime/task_api_client.py) and to the tracking server for its tracked
run: a worker needs the broker, the server's address and the DAG files, never the database.

Delivery is "at least once" on purpose (``acks_late``: a worker killed before it ran a message
leaves it to another one); a second delivery of the same try is refused by the compare-and-set
on its token when it tries to claim it, so a try never runs twice. What a dead worker was
running is found by the scheduler from the missing heartbeats, as for the local executor.

Celery is imported only here (and only when this executor or a worker is used).
"""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from trackflow.config import Settings
from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload, WorkloadKey

if TYPE_CHECKING:
    from celery import Celery
    from celery.result import AsyncResult

TASK_NAME = "trackflow.run_try"
TASK_API_PATH = "/task-api/v1"
# A message a worker took but never acknowledged (it died) goes back to the queue after this
# long on Redis (at once on RabbitMQ); the scheduler's queued timeout re-queues the try sooner.
VISIBILITY_TIMEOUT_SECONDS = 6 * 3600


def celery_app(settings: Settings) -> Celery:
    """The Celery application both sides share: broker, result backend and delivery rules."""
    from celery import Celery

    app = Celery("trackflow", broker=settings.celery_broker_url, backend=settings.resolved_celery_result_backend,
                 set_as_current=False)
    app.conf.update(
        task_serializer="json", result_serializer="json", accept_content=["json"],
        task_default_queue="default",
        task_acks_late=True, task_reject_on_worker_lost=True,  # redeliver what a dead worker held
        worker_prefetch_multiplier=1,  # a busy worker does not sit on messages another could run
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT_SECONDS},
        result_expires=24 * 3600,
        worker_hijack_root_logger=False,
    )
    return app


def remote_workload(workload: TaskWorkload, server_url: str) -> TaskWorkload:
    """The workload as a worker gets it: no database URI, the server's task API and tracking
    server instead, and the scheduler's DAGs folder (to find the file under the worker's)."""
    scheduler_settings = Settings(**workload.settings)
    return dataclasses.replace(
        workload, db_uri="", api_url=server_url + TASK_API_PATH,
        settings={"tracking_uri": server_url, "dags_folder": scheduler_settings.resolved_dags_folder},
    )


def localize(workload: TaskWorkload, worker: Settings) -> TaskWorkload:
    """The workload as it runs on this worker: logs under the worker's home, and the DAG file
    under the worker's DAGs folder when the scheduler's path does not exist here."""
    fileloc = workload.fileloc
    scheduler_folder = workload.settings.get("dags_folder", "")
    if not Path(fileloc).exists() and scheduler_folder and worker.dags_folder:
        try:
            relative = Path(fileloc).relative_to(scheduler_folder)
        except ValueError:
            relative = None
        if relative is not None:
            fileloc = str(Path(worker.resolved_dags_folder) / relative)
    settings = {"home": str(worker.home_path), "tracking_uri": workload.settings.get("tracking_uri", ""),
                "dags_folder": worker.resolved_dags_folder}
    return dataclasses.replace(workload, fileloc=fileloc, settings=settings)


def run_try(workload_json: str, worker: Settings) -> int:
    """The worker side of one message: fork a task process for the try, wait for it, return its
    exit code. A revoke (the scheduler's kill) reaches this pool process as SIGTERM and is
    passed on to the task's process group."""
    from trackflow.pipelines.executors.local import fork_task

    workload = localize(TaskWorkload.from_json(workload_json), worker)
    pid = fork_task(workload)

    def forward(signum: int, frame: FrameType | None) -> None:
        try:
            os.killpg(pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status)
            except InterruptedError:
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def worker_app(settings: Settings) -> Celery:
    """The application a ``trackflow worker`` runs: :func:`run_try` registered as the task."""
    app = celery_app(settings)

    @app.task(name=TASK_NAME, acks_late=True)  # type: ignore[untyped-decorator,unused-ignore]
    def run(workload_json: str) -> int:
        return run_try(workload_json, settings)

    return app


class CeleryExecutor(BaseExecutor):
    """Sends workloads to Celery workers; learns their ends from the result backend. Use it
    from one thread (the scheduler's)."""

    def __init__(self, settings: Settings, parallelism: int | None = None) -> None:
        super().__init__(parallelism or settings.parallelism)
        self.settings = settings
        self.server_url = settings.resolved_server_url
        self.app: Celery | None = None
        self.inflight: dict[WorkloadKey, tuple[str, AsyncResult]] = {}

    def start(self) -> None:
        if self.app is None:
            self.app = celery_app(self.settings)

    def queue_workload(self, workload: TaskWorkload) -> None:
        self.start()
        assert self.app is not None
        message = remote_workload(workload, self.server_url).to_json()
        result = self.app.send_task(TASK_NAME, args=[message], queue=workload.queue or "default")
        self.inflight[workload.key] = (workload.token, result)

    def poll(self) -> list[ExecutorEvent]:
        if not self.inflight:
            return []
        states = self._states([result for _, result in self.inflight.values()])
        events = []
        for key, (token, result) in list(self.inflight.items()):
            status, value = states.get(result.id, ("PENDING", None))
            if status not in ("SUCCESS", "FAILURE", "REVOKED"):
                continue
            del self.inflight[key]
            if status == "SUCCESS" and isinstance(value, int):
                code = value
            else:
                code = -int(signal.SIGTERM) if status == "REVOKED" else 1
            events.append(ExecutorEvent(key, token, code))
        return events

    def _states(self, results: list[AsyncResult]) -> dict[str, tuple[str, Any]]:
        """task id -> (state, result), in one round trip where the backend allows it (a
        key-value backend such as Redis: one MGET for every task in flight)."""
        assert self.app is not None
        backend = self.app.backend
        if hasattr(backend, "mget") and hasattr(backend, "get_key_for_task"):
            ids = [r.id for r in results]
            values = backend.mget([backend.get_key_for_task(i) for i in ids])
            out: dict[str, tuple[str, Any]] = {}
            for task_id, raw in zip(ids, values, strict=True):
                if raw:
                    meta = backend.decode_result(raw)
                    out[task_id] = (meta["status"], meta.get("result"))
            return out
        return {r.id: (r.state, r.result if r.state == "SUCCESS" else None) for r in results}

    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        known = self.inflight.get(key)
        if known is None or token not in (None, known[0]):
            return
        known[1].revoke(terminate=True, signal="SIGTERM")

    def health(self) -> dict[str, Any]:
        """The broker answers (one connection, no retries: /health must answer quickly)."""
        self.start()
        assert self.app is not None
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
                broker = conn.as_uri()  # the password masked
        except Exception as exc:
            return {"ok": False, "reason": f"the Celery broker does not answer: {exc}"}
        return {"ok": True, "broker": broker}

    def forget(self, key: WorkloadKey, token: str) -> None:
        known = self.inflight.get(key)
        if known is not None and known[0] == token:
            del self.inflight[key]

    def running_tries(self) -> dict[WorkloadKey, str]:
        return {key: token for key, (token, _) in self.inflight.items()}

    def stop(self) -> None:
        if self.app is not None:
            self.app.close()
            self.app = None
