"""PipelineService: the scheduler, the DAG file processor and the local executor, in the
background of a long-running process (``trackflow server`` / ``trackflow scheduler``).

    service = PipelineService(settings, db)
    service.start()   # returns at once; threads + one executor helper process
    ...
    service.stop()

One scheduler loop owns a database at a time (the scheduler lease, scheduler/lease.py): a
second service on the same database stands by until the first one's lease ends.

The scheduler thread never runs user code: DAG files are parsed in child processes and
tasks run in processes forked from the executor's helper process.
"""

from __future__ import annotations

import logging
import threading
import traceback
from dataclasses import dataclass

from trackflow.config import Settings
from trackflow.pipelines.executors.base import BaseExecutor, executor_for
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
from trackflow.pipelines.scheduler.lease import SchedulerLease
from trackflow.pipelines.scheduler.loop import SchedulerLoop, utcnow
from trackflow.store.sql.database import Database

log = logging.getLogger("trackflow.pipelines")


@dataclass(frozen=True)
class ServiceOptions:
    """Timing knobs (seconds). Defaults suit a laptop; tests shorten them."""

    parse_interval: float = 30.0
    idle_poll: float = 1.0
    busy_poll: float = 0.05
    heartbeat_interval: float = 5.0
    heartbeat_timeout: float = 60.0
    queued_timeout: float = 120.0
    lease_timeout: float = 15.0  # another scheduler on the database takes over this long after we die


class PipelineService:
    def __init__(self, settings: Settings, db: Database | None = None, options: ServiceOptions | None = None,
                 executor: BaseExecutor | None = None) -> None:
        self.settings = settings
        self.options = options or ServiceOptions()
        self.pipelines = Pipelines(settings, db)
        self.executor = executor or executor_for(settings)
        self.loop = SchedulerLoop(
            self.pipelines.store, self.executor, settings, db.uri if db is not None else pipeline_db_uri(settings),
            tracking=self.pipelines.tracking, heartbeat_interval=self.options.heartbeat_interval,
            heartbeat_timeout=self.options.heartbeat_timeout, queued_timeout=self.options.queued_timeout,
        )
        self.lease = SchedulerLease(self.pipelines.store, self.options.lease_timeout)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._parse_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self.healthy = False

    def start(self) -> None:
        """Start the executor and the scheduler and DAG-processor threads (idempotent)."""
        if self._threads:
            return
        self._stop.clear()
        self.executor.start()
        self._threads = [
            threading.Thread(target=self._parse_forever, name="trackflow-dag-processor", daemon=True),
            threading.Thread(target=self._schedule_forever, name="trackflow-scheduler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop the threads and the executor helper. Running tasks finish on their own."""
        self._stop.set()
        self._wake.set()
        self._parse_now.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self.executor.stop()
        self.lease.release()

    def wake(self) -> None:
        """Make the scheduler tick now (e.g. right after a run was triggered)."""
        self._wake.set()

    def parse_now(self) -> None:
        self._parse_now.set()

    def _parse_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.pipelines.sync_folder()
                self._wake.set()
            except Exception:
                log.error("parsing the dags folder failed:\n%s", traceback.format_exc())
            self._parse_now.wait(self.options.parse_interval)
            self._parse_now.clear()

    def _schedule_forever(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                if not self.lease.keep(utcnow()):
                    # Another scheduler (e.g. a `dags backfill` with no server) owns the database:
                    # stand by until its lease ends.
                    self.healthy = True
                    self._wake.wait(self.options.idle_poll)
                    self._wake.clear()
                    continue
                busy = self.loop.tick()
                self.healthy = True
            except Exception:
                self.healthy = False
                log.error("scheduler tick failed:\n%s", traceback.format_exc())
            if busy:
                continue
            if self.executor.running():
                self.executor.wait(self.options.busy_poll)
            else:
                self._wake.wait(self.options.idle_poll)
                self._wake.clear()
