"""The triggerer: runs the triggers of deferred task instances, many at once, in one asyncio
event loop (a thread of ``dags test``, or the ``trackflow triggerer`` process that the
scheduler service starts beside itself).

Every ``poll`` seconds it times out the waits past their deadline, drops triggers nobody
waits on any more, renews its lease on the triggers it runs and takes free ones up to
``capacity`` (SqlTriggerStore.claim: several triggerers on one PostgreSQL database share the
work, and a dead one's triggers move on when its lease runs out). The first event of a
trigger resumes its task instances (pipelines/state.py); a trigger that raises, ends without
an event or cannot be loaded makes them fail in their task process.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from trackflow.entities.assets import NewAssetEvent
from trackflow.pipelines import state
from trackflow.pipelines.scheduler.lease import holder_name
from trackflow.pipelines.triggers import serde
from trackflow.pipelines.triggers.base import load_trigger
from trackflow.pipelines.triggers.watchers import DeclaredWatchers, event_extra
from trackflow.store.sql.asset_store import SqlAssetStore
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.trigger_store import SqlTriggerStore, TriggerRecord, WatchedAsset, decode_kwargs

log = logging.getLogger("trackflow.triggerer")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Triggerer:
    def __init__(self, db: Database, capacity: int = 1000, poll: float = 1.0, lease_seconds: float = 30.0,
                 runs: Collection[tuple[str, str]] | None = None, name: str | None = None,
                 on_fire: Callable[[], None] | None = None) -> None:
        self.triggers = SqlTriggerStore(db)
        self.assets = SqlAssetStore(db)
        self.declared = DeclaredWatchers(SqlPipelineStore(db))
        self.capacity = capacity
        self.poll = poll
        self.lease_seconds = lease_seconds
        self.runs = runs  # only the triggers of these (dag_id, run_id), e.g. the run of `dags test`
        self.name = name or holder_name()
        self.on_fire = on_fire
        self.running: dict[int, asyncio.Task[None]] = {}
        self.last_sync: datetime | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # Lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run in a background thread until :meth:`stop`."""
        self._thread = threading.Thread(target=self.run_forever, name="trackflow-triggerer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_forever(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    await self.sync()
                except Exception:  # e.g. the database restarting: try again at the next poll
                    log.error("triggerer sync failed:\n%s", traceback.format_exc())
                await asyncio.sleep(self.poll)
        finally:
            for task in self.running.values():
                task.cancel()
            await asyncio.gather(*self.running.values(), return_exceptions=True)
            try:
                await asyncio.to_thread(self.triggers.release, self.name)  # the others may take them at once
            except Exception:
                log.warning("could not release the triggers of %s", self.name)

    # One pass -----------------------------------------------------------------------------------
    async def sync(self) -> None:
        now = utcnow()
        late = await asyncio.to_thread(state.deferrals_timed_out, self.triggers, now)
        if late:
            log.info("%d deferred task instance(s) timed out", len(late))
            self._fired()
        await asyncio.to_thread(self.triggers.remove_orphans)
        if self.runs is None:  # not for one run of `dags test`
            wanted = await asyncio.to_thread(self.declared.changed)
            if wanted is not None:
                await asyncio.to_thread(self.triggers.sync_watchers, wanted, now)
        held = await asyncio.to_thread(self.triggers.claim, self.name, now, self.lease_seconds, self.capacity,
                                       self.runs)
        ids = {r.id for r in held}
        for trigger_id in [t for t in self.running if t not in ids]:  # gone, or taken over by another triggerer
            self.running.pop(trigger_id).cancel()
        for record in held:
            if record.id not in self.running:
                self.running[record.id] = asyncio.create_task(self.watch(record))
        self.last_sync = now

    async def watch(self, record: TriggerRecord) -> None:
        """Run one trigger until its first event; then resume (or fail) its task instances."""
        if record.watches is not None:
            await self.watch_asset(record, record.watches)
            return
        try:
            trigger = load_trigger(record.classpath, decode_kwargs(record))
            trigger.trigger_id = record.id
        except Exception as exc:
            await self._fail(record, f"cannot load trigger {record.classpath}: {exc}")
            return
        try:
            async for event in trigger.run():
                payload = serde.dumps(event.payload, f"the event of {record.classpath}")
                moved = await asyncio.to_thread(state.trigger_fired, self.triggers, record.id, payload, utcnow())
                log.info("trigger %s (%s) fired: %d task instance(s) resume", record.id, record.classpath, len(moved))
                self._fired()
                return
            await self._fail(record, f"trigger {record.classpath} ended without an event")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("trigger %s (%s) raised:\n%s", record.id, record.classpath, traceback.format_exc())
            await self._fail(record, f"{type(exc).__name__}: {exc}")
        finally:
            try:
                await trigger.cleanup()
            except Exception:
                log.warning("cleanup of trigger %s failed:\n%s", record.id, traceback.format_exc())
            if self.running.get(record.id) is asyncio.current_task():
                del self.running[record.id]

    async def watch_asset(self, record: TriggerRecord, asset: WatchedAsset) -> None:
        """Run a watcher's trigger again and again, until cancelled (its row deleted, or taken
        over by another triggerer); each event updates the asset. A trigger that fails is
        logged and started again after a pause."""
        what = f"watcher {asset.watcher!r} of asset {asset.name!r} ({record.classpath})"
        try:
            while True:
                started = time.monotonic()
                trigger = None
                try:
                    trigger = load_trigger(record.classpath, decode_kwargs(record))
                    async for event in trigger.run():
                        update = NewAssetEvent(asset.name, asset.uri, asset.group, event_extra(event.payload),
                                               source="trigger")
                        await asyncio.to_thread(self.assets.record_events, [update], utcnow())
                        log.info("%s fired: the asset is updated", what)
                        self._fired()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.warning("%s failed, starting it again:\n%s", what, traceback.format_exc())
                finally:
                    if trigger is not None:
                        try:
                            await trigger.cleanup()
                        except Exception:
                            log.warning("cleanup of %s failed:\n%s", what, traceback.format_exc())
                if time.monotonic() - started < self.poll:  # it ended at once: no busy loop
                    await asyncio.sleep(max(self.poll, 1.0))
        finally:
            if self.running.get(record.id) is asyncio.current_task():
                del self.running[record.id]

    async def _fail(self, record: TriggerRecord, error: str) -> None:
        log.warning("trigger %s (%s) failed: %s", record.id, record.classpath, error)
        await asyncio.to_thread(state.trigger_failed, self.triggers, record.id, error, utcnow())
        self._fired()

    def _fired(self) -> None:
        if self.on_fire is not None:
            self.on_fire()


class TriggererProcess:
    """A ``trackflow triggerer`` child process, (re)started on demand: the scheduler service
    keeps one beside itself, ``dags test`` starts one at its run's first deferral. A process,
    not a thread: trigger code is user code, and a process that forks task tries must have no
    other thread (a lock held at fork time would hang the child)."""

    RESTART_SPACING = 5.0  # seconds between two starts, when it keeps dying

    def __init__(self, db_uri: str, dags_folder: str, env: dict[str, str], only_run: tuple[str, str] | None = None,
                 poll: float | None = None) -> None:
        # --parent-pid: a scheduler killed outright (SIGKILL) takes its triggerer along
        self.args = [sys.executable, "-m", "trackflow", "triggerer", "--backend-store-uri", db_uri,
                     "--dags-folder", dags_folder, "--parent-pid", str(os.getpid())]
        if only_run is not None:
            self.args += ["--only-run", *only_run]
        if poll is not None:
            self.args += ["--poll", str(poll)]
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._lock = threading.Lock()  # one start at a time, whoever asks

    def ensure(self) -> bool:
        """Start it if it is not running (not sooner than RESTART_SPACING after the last
        start); True if it was started now."""
        with self._lock:
            return self._ensure()

    def _ensure(self) -> bool:
        if self.proc is not None and self.proc.poll() is None:
            return False
        if self.proc is not None:
            if time.monotonic() - self.started_at < self.RESTART_SPACING:
                return False
            log.warning("the triggerer exited with code %s: starting it again", self.proc.returncode)
        self.proc = subprocess.Popen(self.args, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        return True

    def stop(self, timeout: float = 15.0) -> None:
        with self._lock:
            proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
