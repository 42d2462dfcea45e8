"""PipelineService: the scheduler, the DAG file processor and the local executor, in the
background of a long-running process (``trackflow server`` / ``trackflow scheduler``).

    service = PipelineService(settings, db)
    service.start()   # returns at once; threads + one executor helper process
    ...
    service.stop()

On SQLite one scheduler loop owns a database at a time (the scheduler lease,
scheduler/lease.py): :meth:`PipelineService.claim` refuses to start a second one (Conflict,
naming the holder). On PostgreSQL several services schedule the same database at once; the
loop divides the work with row locks (see scheduler/loop.py), and the lease only tells a
``dags backfill`` that a scheduler is running.

The scheduler thread never runs user code: DAG files are parsed in child processes and
tasks run in processes forked from the executor's helper process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any

from trackflow.config import Settings
from trackflow.errors import Conflict
from trackflow.pipelines.dagbag import ParseCancelled
from trackflow.pipelines.executors.base import BaseExecutor, executor_for
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
from trackflow.pipelines.scheduler.lease import SchedulerLease
from trackflow.pipelines.scheduler.loop import SchedulerLoop, utcnow
from trackflow.pipelines.triggers.triggerer import TriggererProcess
from trackflow.pipelines.triggers.watchers import DeclaredWatchers
from trackflow.store.sql.database import Database
from trackflow.store.sql.trigger_store import SqlTriggerStore

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
    runs_per_tick: int = 100  # PostgreSQL: running runs one scheduler claims per tick (others take the rest)
    stale_ticks: float = 30.0  # /health fails when the last good tick is older than this many idle polls
    triggerer: bool = True  # start a `trackflow triggerer` process beside the scheduler (deferred tasks)

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceOptions:
        """The defaults, with the timings a deployment configures (settings heartbeat_interval,
        heartbeat_timeout, queued_timeout)."""
        return cls(heartbeat_interval=settings.heartbeat_interval, heartbeat_timeout=settings.heartbeat_timeout,
                   queued_timeout=settings.queued_timeout)


class PipelineService:
    def __init__(self, settings: Settings, db: Database | None = None, options: ServiceOptions | None = None,
                 executor: BaseExecutor | None = None) -> None:
        self.settings = settings
        self.options = options or ServiceOptions.from_settings(settings)
        self.pipelines = Pipelines(settings, db)
        self.executor = executor or executor_for(settings)
        self.lease = SchedulerLease(self.pipelines.store, self.options.lease_timeout)
        self.loop = SchedulerLoop(
            self.pipelines.store, self.executor, settings, db.uri if db is not None else pipeline_db_uri(settings),
            tracking=self.pipelines.tracking, heartbeat_interval=self.options.heartbeat_interval,
            heartbeat_timeout=self.options.heartbeat_timeout, queued_timeout=self.options.queued_timeout,
            name=self.lease.holder, runs_per_tick=self.options.runs_per_tick,
        )
        # SQLite: one scheduler per database (the lease). PostgreSQL: any number, with row locks.
        self.exclusive = self.pipelines.store.db.is_sqlite
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._parse_now = threading.Event()
        self._threads: list[threading.Thread] = []
        self.healthy = False
        self.started_at: float | None = None  # time.monotonic() of start()
        self.last_tick: float | None = None  # time.monotonic() of the last tick that did not raise
        self.last_error: str | None = None
        self._failed_ticks = 0  # consecutive ticks that raised
        # Deferred tasks and asset watchers wait on triggers in a `trackflow triggerer` process
        # beside the scheduler, started when first needed (an idle server has no use for one).
        self.triggerer = TriggererProcess(self.loop.db_uri, settings.resolved_dags_folder,
                                          {**os.environ, **settings.to_environ()})
        self._triggers = SqlTriggerStore(self.pipelines.store.db)
        self._declared = DeclaredWatchers(self.pipelines.store)
        self._watchers_declared = False

    def claim(self) -> None:
        """Take the scheduler lease before starting. On SQLite, Conflict (naming the holder's
        host:pid) while another live scheduler holds it: SQLite allows one scheduler. On
        PostgreSQL never refused: the lease then only marks that a scheduler runs."""
        if self.lease.acquire(utcnow()) or not self.exclusive:
            return
        host, _, rest = self.lease.current.partition(":")
        raise Conflict(f"another scheduler ({host}:{rest.partition(':')[0]}) is running on this SQLite database, "
                       "and SQLite allows one scheduler: stop it, start the server with --no-scheduler, "
                       "or use PostgreSQL for several schedulers")

    def start(self) -> None:
        """Start the executor and the scheduler and DAG-processor threads (idempotent)."""
        if self._threads:
            return
        if self.lease.renewed_at is None:
            self.claim()
        self._stop.clear()
        self.executor.start()
        self.started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._parse_forever, name="trackflow-dag-processor", daemon=True),
            threading.Thread(target=self._schedule_forever, name="trackflow-scheduler", daemon=True),
        ]
        for thread in self._threads:
            thread.start()  # the scheduler thread starts the triggerer (and again if it dies)

    def stop(self) -> None:
        """Stop the threads and the executor helper. Running tasks finish on their own."""
        self._stop.set()
        self._wake.set()
        self._parse_now.set()
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self.triggerer.stop()
        self.executor.stop()
        self.lease.release()

    def health(self) -> dict[str, dict[str, Any]]:
        """``{"scheduler": {...}, "executor": {...}}``, each with ``ok`` and, when not ok, a
        ``reason``. The scheduler fails when its thread is gone, when its last good tick is
        older than ``stale_ticks`` idle polls, or when its last 3+ ticks raised; the executor
        when it was not started or its own check fails (BaseExecutor.health: the local executor's
        helper process, the Celery broker)."""
        now = time.monotonic()
        thread = next((t for t in self._threads if t.name == "trackflow-scheduler"), None)
        since = None if self.last_tick is None else round(now - self.last_tick, 3)
        scheduler: dict[str, Any] = {
            "ok": True, "running": thread is not None and thread.is_alive(),
            "mode": "one per database (SQLite)" if self.exclusive else "several (PostgreSQL)",
            "holds_lease": self.lease.held, "lease_holder": self.lease.current or None,
            "seconds_since_tick": since, "failed_ticks": self._failed_ticks, "last_error": self.last_error,
        }
        limit = self.options.stale_ticks * self.options.idle_poll
        reference = self.last_tick if self.last_tick is not None else self.started_at
        if not scheduler["running"]:
            scheduler.update(ok=False, reason="the scheduler thread is not running")
        elif self._failed_ticks >= 3:
            scheduler.update(ok=False, reason=f"its last {self._failed_ticks} ticks failed: {self.last_error}")
        elif reference is not None and now - reference > limit:
            scheduler.update(ok=False, reason=f"no successful tick for {now - reference:.1f} s (limit {limit:g} s)")
        executor: dict[str, Any] = {
            "ok": True, "kind": type(self.executor).__name__, "started": self.started_at is not None,
            "running_tasks": len(self.executor.running()),
        }
        if not executor["started"]:
            executor.update(ok=False, reason="not started")
        else:
            executor.update(self.executor.health())
        return {"scheduler": scheduler, "executor": executor}

    def _keep_triggerer(self) -> None:
        """Start the triggerer process once a deferred task or an asset watcher needs it, and
        again if it died (restarts spaced)."""
        if not self.options.triggerer or self._stop.is_set():
            return
        if self.triggerer.proc is None and not self._triggers_wanted():
            return
        self.triggerer.ensure()

    def _triggers_wanted(self) -> bool:
        try:
            if self._triggers.count() > 0:  # a deferred task (or watchers another triggerer recorded)
                return True
            declared = self._declared.changed()  # None: no DAG changed since the last look
        except Exception:  # the database is away: the tick reports it; ask again next time
            log.debug("cannot tell whether the triggerer is needed:\n%s", traceback.format_exc())
            return False
        if declared is not None:
            self._watchers_declared = bool(declared)
        return self._watchers_declared

    def wake(self) -> None:
        """Make the scheduler tick now (e.g. right after a run was triggered)."""
        self._wake.set()

    def parse_now(self) -> None:
        self._parse_now.set()

    def _parse_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.pipelines.sync_folder(cancel=self._stop)
                self._wake.set()
            except ParseCancelled:
                return  # stopping: the parsing process was killed
            except Exception:
                log.error("parsing the dags folder failed:\n%s", traceback.format_exc())
            self._parse_now.wait(self.options.parse_interval)
            self._parse_now.clear()

    def _schedule_forever(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                if not self.lease.keep(utcnow()) and self.exclusive:
                    # Another scheduler took over this SQLite database (our lease expired, e.g.
                    # while this process was stopped): stand by until its lease ends.
                    self.healthy = True
                    self.last_tick = time.monotonic()
                    self._wake.wait(self.options.idle_poll)
                    self._wake.clear()
                    continue
                busy = self.loop.tick()
                self.healthy = True
                self.last_tick = time.monotonic()
                self.last_error = None
                self._failed_ticks = 0
            except Exception as exc:
                self.healthy = False
                self._failed_ticks += 1
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                log.error("scheduler tick failed:\n%s", traceback.format_exc())
            try:
                self._keep_triggerer()
            except OSError:
                log.error("cannot start the triggerer:\n%s", traceback.format_exc())
            if busy:
                continue
            if self.executor.running():
                self.executor.wait(self.options.busy_poll)
            else:
                self._wake.wait(self.options.idle_poll)
                self._wake.clear()
