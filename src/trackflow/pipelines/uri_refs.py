"""``Asset.ref(uri=...)`` in schedules: when the DAGs folder is parsed, each uri reference in
a DAG's asset condition (and its partition mappers) takes the name of the asset with that uri
— declared by any DAG (outlets, schedules) or already recorded — so the scheduler, which goes
by names, runs the DAG on that asset's events. A uri nothing declares keeps the uri as name."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def _assets(condition: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if "asset" in condition:
        yield condition["asset"]
    for member in condition.get("all", []) + condition.get("any", []):
        yield from _assets(member)


def declared_names(specs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """uri -> name of every asset the specs declare with both (not through a reference)."""
    out: dict[str, str] = {}
    for spec in specs:
        for task in spec.get("tasks", []):
            for outlet in task.get("outlets", ()):
                if "uri" in outlet and "name" in outlet:
                    out.setdefault(outlet["uri"], outlet["name"])
        for asset in _assets((spec.get("timetable") or {}).get("condition") or {}):
            if not asset.get("ref"):
                out.setdefault(asset["uri"], asset["name"])
    return out


def resolve_uri_refs(specs: list[dict[str, Any]], known: dict[str, str]) -> None:
    """Give every uri reference in the specs' conditions the name ``known`` has for its uri
    (in place; the partition mapper of a renamed reference moves with it)."""
    for spec in specs:
        timetable = spec.get("timetable") or {}
        for asset in _assets(timetable.get("condition") or {}):
            if asset.get("ref") == "uri" and asset["uri"] in known and known[asset["uri"]] != asset["name"]:
                old, asset["name"] = asset["name"], known[asset["uri"]]
                mappers = timetable.get("mappers")
                if isinstance(mappers, dict) and old in mappers:
                    mappers[asset["name"]] = mappers.pop(old)
