"""Asset watchers (Airflow 3's event-driven scheduling): which watchers the DAGs declare, and
running one. A watcher runs while an active, unpaused DAG is scheduled on its asset (a paused
DAG's watchers stop: a FileDeleteTrigger must not eat files nobody consumes). Its trigger is
run again after each event, and every event updates the asset like a producing task would,
with extra ``{"from_trigger": true, "payload": ...}`` — which starts the DAGs scheduled on it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from trackflow.pipelines.scheduler.timetables import asset_condition
from trackflow.pipelines.triggers import serde
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.trigger_store import WatchedAsset, Watcher


def _watchers_in(condition: dict[str, Any]) -> Iterator[Watcher]:
    if "asset" in condition:
        asset = condition["asset"]
        for w in asset.get("watchers", ()):
            yield Watcher(WatchedAsset(asset["name"], asset["uri"], asset["group"], w["name"]), w["classpath"],
                          serde.dumps(w["kwargs"], f"the arguments of watcher {w['name']!r}"))
    for member in condition.get("all", []) + condition.get("any", []):
        yield from _watchers_in(member)


class DeclaredWatchers:
    """The watchers of the active, unpaused DAGs; specs are read again only when one changed."""

    def __init__(self, store: SqlPipelineStore) -> None:
        self.store = store
        self._seen: dict[str, tuple[str, bool]] | None = None
        self._watchers: list[Watcher] = []

    def changed(self) -> list[Watcher] | None:
        """The declared watchers, or None when no DAG changed since the last call."""
        hashes = self.store.dag_hashes()
        if hashes == self._seen:
            return None
        self._seen = hashes
        found: dict[tuple[str, str], Watcher] = {}
        for record in self.store.list_dags():
            if record.is_paused:
                continue
            for w in _watchers_in(asset_condition(record.spec.get("timetable") or {}) or {}):
                found.setdefault((w.asset.name, w.asset.watcher), w)
        self._watchers = list(found.values())
        return self._watchers


def event_extra(payload: Any) -> dict[str, Any]:
    return {"from_trigger": True, "payload": json.loads(json.dumps(payload, default=str))}
