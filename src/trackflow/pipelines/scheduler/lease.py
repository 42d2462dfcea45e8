"""The scheduler lease: which scheduler loop runs on a database.

The server's (or ``trackflow scheduler``'s) loop and a ``dags backfill`` that has no server
to hand its runs to both drive :class:`SchedulerLoop`. The holder renews the lease while it
lives; a holder that dies loses it when it expires, or at once when it ran on this machine
and its process is gone.

On SQLite the lease is exclusive: one scheduler loop per database. A second ``trackflow
server``/``scheduler`` refuses to start (PipelineService.claim), and a backfill finding it
held only follows its runs. On PostgreSQL several schedulers run at once and divide the work
with row locks (scheduler/loop.py); there the lease only tells a backfill that some
scheduler runs (so it does not drive its own loop), and it never stops a scheduler.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from trackflow.store.pipeline_base import PipelineStore

DEFAULT_TTL_SECONDS = 15.0


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_is_dead(holder: str, hostname: str | None = None) -> bool:
    """True if ``holder`` ran on this machine and its process is gone (else unknown: False)."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != (hostname or socket.gethostname()) or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class SchedulerLease:
    def __init__(self, store: PipelineStore, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl_seconds
        self.holder = holder_name()
        self.current = ""  # who holds it, as of the last call
        self.renewed_at: datetime | None = None
        self.tried_at: datetime | None = None  # the last acquire, won or not

    @property
    def held(self) -> bool:
        return self.current == self.holder

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; False while another live scheduler holds it."""
        won, self.current = self.store.acquire_scheduler_lease(self.holder, now, self.ttl)
        if not won and self.current and holder_is_dead(self.current):
            won, self.current = self.store.acquire_scheduler_lease(self.holder, now, self.ttl,
                                                                   take_over=self.current)
        self.renewed_at = now if won else None
        self.tried_at = now
        self.store.beat_scheduler(self.holder, now, self.ttl)  # alive, lease or not (see live_schedulers)
        return won

    def keep(self, now: datetime) -> bool:
        """:meth:`acquire`, but only asks the database when a third of the lease has passed
        since the last call that did (a loop calls it every tick); meanwhile, that answer."""
        if self.tried_at is not None and now - self.tried_at < timedelta(seconds=self.ttl / 3):
            return self.held
        return self.acquire(now)

    def release(self) -> None:
        if self.tried_at is not None:
            try:
                self.store.release_scheduler_lease(self.holder)
            except Exception:  # the database went away: the lease expires by itself
                pass
        self.renewed_at = None
        self.tried_at = None
        self.current = ""
