"""The triggerer's side of deferral: which triggers a triggerer runs (a lease per trigger, so
several triggerers on one PostgreSQL database share the work and a dead one's triggers move
on), and the writes that end a wait: a trigger's event, its failure, a deferral's timeout.

Each end of a wait moves the deferred task instances that wait on the trigger from
``deferred`` to ``scheduled`` by compare-and-set (state and trigger id), with the event (or
``__fail__`` and the error) in their resume arguments, and deletes the trigger, in one
transaction: an event resumes its task instances once, whichever triggerer sees it first.
The moves are checked by pipelines/state.py, which calls these.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from trackflow.entities.pipelines import TaskInstance, TIState
from trackflow.pipelines.triggers import serde
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import _ti, to_ms
from trackflow.store.sql.pipeline_tables import task_instances, triggers

_TI = task_instances.c
_TR = triggers.c
_WAITING_ON = and_(_TI.trigger_id == _TR.id, _TI.state == TIState.DEFERRED)


@dataclass(frozen=True)
class TriggerRecord:
    id: int
    classpath: str
    kwargs: str  # JSON (triggers/serde.py)
    watches: WatchedAsset | None = None  # an asset watcher's trigger: it runs for good


@dataclass(frozen=True)
class WatchedAsset:
    name: str
    uri: str
    group: str
    watcher: str


@dataclass(frozen=True)
class Watcher:
    """An asset watcher as the DAGs declare it (the trigger's kwargs as serde JSON)."""

    asset: WatchedAsset
    classpath: str
    kwargs: str


class SqlTriggerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(self, holder: str, now: datetime, lease_seconds: float, capacity: int,
              runs: Collection[tuple[str, str]] | None = None) -> list[TriggerRecord]:
        """Renew ``holder``'s lease on the triggers it runs and take free ones (never held, or
        whose holder's lease ran out) up to ``capacity`` in all; only triggers that deferred
        task instances wait on, of ``runs`` (dag_id, run_id) when given. Returns what it holds."""
        now_ms, until = to_ms(now), to_ms(now + timedelta(seconds=lease_seconds))
        free = or_(_TR.triggerer.is_(None), _TR.lease_until < now_ms)
        waited_on: Any = or_(exists().where(_WAITING_ON), _TR.asset_name.is_not(None))  # or a watcher
        if runs is not None:
            if not runs:
                return []
            waited_on = exists().where(_WAITING_ON, tuple_(_TI.dag_id, _TI.run_id).in_(list(runs)))
        with self.db.write() as conn:
            conn.execute(update(triggers).where(_TR.triggerer == holder).values(lease_until=until))
            held = conn.execute(select(_TR.id).where(_TR.triggerer == holder)).all()
            room = capacity - len(held)
            if room > 0:
                wanted = [r.id for r in conn.execute(
                    select(_TR.id).where(free, waited_on).order_by(_TR.id).limit(room))]
                if wanted:  # the free-condition again: a rival triggerer may have taken some meanwhile
                    conn.execute(update(triggers).where(_TR.id.in_(wanted), free).values(
                        triggerer=holder, lease_until=until))
            rows = conn.execute(select(triggers).where(_TR.triggerer == holder).order_by(_TR.id)).all()
        return [TriggerRecord(r.id, r.classpath, r.kwargs, WatchedAsset(
            r.asset_name, r.asset_uri, r.asset_group, r.watcher_name) if r.asset_name is not None else None)
            for r in rows]

    def release(self, holder: str) -> None:
        """A triggerer that stops hands its triggers back at once."""
        with self.db.write() as conn:
            conn.execute(update(triggers).where(_TR.triggerer == holder).values(triggerer=None, lease_until=None))

    def _resume(self, conn: Any, trigger_id: int, next_method: str | None, kwargs_of: Any,
                now: datetime) -> list[TaskInstance]:
        rows = conn.execute(select(task_instances).where(_TI.trigger_id == trigger_id,
                                                         _TI.state == TIState.DEFERRED)).all()
        moved = []
        for row in rows:
            values: dict[str, Any] = {"state": TIState.SCHEDULED, "trigger_id": None, "trigger_timeout": None,
                                      "next_kwargs": kwargs_of(row.next_kwargs)}
            if next_method is not None:
                values["next_method"] = next_method
            done = conn.execute(update(task_instances).where(
                _TI.dag_id == row.dag_id, _TI.run_id == row.run_id, _TI.task_id == row.task_id,
                _TI.map_index == row.map_index, _TI.state == TIState.DEFERRED, _TI.trigger_id == trigger_id,
            ).values(**values)).rowcount
            if done:
                moved.append(_ti(row))
        return moved

    def fire(self, trigger_id: int, payload: str, now: datetime) -> list[TaskInstance]:
        """The trigger's event (``payload``: JSON): its task instances resume with ``event=``."""
        with self.db.write() as conn:
            moved = self._resume(conn, trigger_id, None, lambda kwargs: serde.with_event(kwargs, payload), now)
            conn.execute(delete(triggers).where(_TR.id == trigger_id))
        return moved

    def fail(self, trigger_id: int, error: str, now: datetime) -> list[TaskInstance]:
        """The trigger failed (or cannot be loaded): its task instances resume only to fail."""
        failure = json.dumps({"error": error[:2000]})
        with self.db.write() as conn:
            moved = self._resume(conn, trigger_id, "__fail__", lambda _: failure, now)
            conn.execute(delete(triggers).where(_TR.id == trigger_id))
        return moved

    def time_out(self, now: datetime) -> list[TaskInstance]:
        """Deferred task instances whose wait passed its timeout resume only to fail."""
        failure = json.dumps({"error": "trigger timeout"})
        moved: list[TaskInstance] = []
        with self.db.write() as conn:
            late = conn.execute(select(_TI.trigger_id).distinct().where(
                _TI.state == TIState.DEFERRED, _TI.trigger_timeout <= to_ms(now))).scalars().all()
            for trigger_id in late:
                moved += self._resume(conn, trigger_id, "__fail__", lambda _: failure, now)
        return moved

    def remove_orphans(self) -> int:
        """Delete the triggers no deferred task instance waits on any more (cleared, marked,
        or timed out); returns how many. Watchers go by :meth:`sync_watchers`."""
        with self.db.write() as conn:
            return int(conn.execute(delete(triggers).where(
                _TR.asset_name.is_(None), ~exists().where(_WAITING_ON))).rowcount or 0)

    def sync_watchers(self, wanted: Collection[Watcher], now: datetime) -> None:
        """Make the watcher rows those of ``wanted``: a new one is added, one no DAG declares
        any more (or declares with other arguments) is deleted — its triggerer stops it."""
        by_key = {(w.asset.name, w.asset.watcher): w for w in wanted}
        try:
            with self.db.write() as conn:
                rows = conn.execute(select(_TR.id, _TR.asset_name, _TR.watcher_name, _TR.classpath, _TR.kwargs,
                                           _TR.asset_uri).where(_TR.asset_name.is_not(None))).all()
                have = set()
                for r in rows:
                    w = by_key.get((r.asset_name, r.watcher_name))
                    if w is None or (w.classpath, w.kwargs, w.asset.uri) != (r.classpath, r.kwargs, r.asset_uri):
                        conn.execute(delete(triggers).where(_TR.id == r.id))
                    else:
                        have.add((r.asset_name, r.watcher_name))
                new = [w for key, w in by_key.items() if key not in have]
                if new:
                    conn.execute(insert(triggers), [{
                        "classpath": w.classpath, "kwargs": w.kwargs, "created_at": to_ms(now),
                        "asset_name": w.asset.name, "asset_uri": w.asset.uri, "asset_group": w.asset.group,
                        "watcher_name": w.asset.watcher} for w in new])
        except IntegrityError:
            pass  # another triggerer added the same watcher meanwhile: it is there

    def count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(triggers)).scalar_one())


def decode_kwargs(record: TriggerRecord) -> dict[str, Any]:
    kwargs = serde.loads(record.kwargs)
    return kwargs if isinstance(kwargs, dict) else {}
