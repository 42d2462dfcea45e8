"""When an asset condition holds (pure): the condition trees of ``authoring/assets.py``
evaluated over the names of the assets updated since a DAG's last asset-triggered run. An
``AssetAlias`` node stands for the assets the alias resolves to (``resolved``: alias name ->
asset names, recorded when a task adds an event through the alias), as in Airflow."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from typing import Any

Resolved = Mapping[str, Set[str]]
_NONE: Resolved = {}


def asset_names(condition: dict[str, Any]) -> Iterator[str]:
    """Every asset named in ``condition``, depth first."""
    if "asset" in condition:
        yield condition["asset"]["name"]
    for member in condition.get("all", []) + condition.get("any", []):
        yield from asset_names(member)


def alias_names(condition: dict[str, Any]) -> Iterator[str]:
    """Every alias named in ``condition``, depth first."""
    if "alias" in condition:
        yield condition["alias"]["name"]
    for member in condition.get("all", []) + condition.get("any", []):
        yield from alias_names(member)


def holds(condition: dict[str, Any], updated: Set[str], resolved: Resolved = _NONE) -> bool:
    """Whether ``condition`` is met when the assets in ``updated`` have new events."""
    if "asset" in condition:
        return condition["asset"]["name"] in updated
    if "alias" in condition:
        return bool(set(resolved.get(condition["alias"]["name"], set())) & set(updated))
    if "all" in condition:
        return all(holds(m, updated, resolved) for m in condition["all"])
    if "any" in condition:
        return any(holds(m, updated, resolved) for m in condition["any"])
    return False


def consumed(condition: dict[str, Any], updated: Set[str], resolved: Resolved = _NONE) -> set[str]:
    """The updated assets a run started by ``condition`` consumes: every updated asset the
    condition names, directly or through an alias (as Airflow, an ``|`` run also takes the
    other branches' updates)."""
    names = set(asset_names(condition))
    for alias in alias_names(condition):
        names |= set(resolved.get(alias, set()))
    return names & set(updated)


def summary(condition: dict[str, Any]) -> str:
    """A readable form: ``a & (b | c)``."""
    if "asset" in condition:
        return str(condition["asset"]["name"])
    if "alias" in condition:
        return f"alias {condition['alias']['name']}"
    for kind, op in (("all", " & "), ("any", " | ")):
        if kind in condition:
            parts = [summary(m) if "asset" in m or "alias" in m else f"({summary(m)})" for m in condition[kind]]
            return op.join(parts)
    return "?"
