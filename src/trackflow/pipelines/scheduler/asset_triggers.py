"""When an asset condition holds (pure): the condition trees of ``authoring/assets.py``
evaluated over the names of the assets updated since a DAG's last asset-triggered run."""

from __future__ import annotations

from collections.abc import Iterator, Set
from typing import Any


def asset_names(condition: dict[str, Any]) -> Iterator[str]:
    """Every asset named in ``condition``, depth first."""
    if "asset" in condition:
        yield condition["asset"]["name"]
    for member in condition.get("all", []) + condition.get("any", []):
        yield from asset_names(member)


def holds(condition: dict[str, Any], updated: Set[str]) -> bool:
    """Whether ``condition`` is met when the assets in ``updated`` have new events."""
    if "asset" in condition:
        return condition["asset"]["name"] in updated
    if "all" in condition:
        return all(holds(m, updated) for m in condition["all"])
    if "any" in condition:
        return any(holds(m, updated) for m in condition["any"])
    return False


def consumed(condition: dict[str, Any], updated: Set[str]) -> set[str]:
    """The updated assets a run started by ``condition`` consumes: every updated asset the
    condition names (as Airflow, an ``|`` run also takes the other branches' updates)."""
    return {name for name in asset_names(condition) if name in updated}


def summary(condition: dict[str, Any]) -> str:
    """A readable form: ``a & (b | c)``."""
    if "asset" in condition:
        return str(condition["asset"]["name"])
    for kind, op in (("all", " & "), ("any", " | ")):
        if kind in condition:
            parts = [summary(m) if "asset" in m else f"({summary(m)})" for m in condition[kind]]
            return op.join(parts)
    return "?"
