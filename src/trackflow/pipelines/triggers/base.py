"""Triggers: small async waits that run in the triggerer, not in a worker (Airflow's model).

A trigger is serialized when its task defers (``serialize()``: the class's import path and
its JSON arguments), rebuilt in the triggerer, and its ``run()`` yields events; the first
event resumes every task instance waiting on it. A trigger class must be importable by the
triggerer: from trackflow, an installed package, or a module in the DAGs folder.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import AsyncIterator
from typing import Any

from trackflow.errors import InvalidInput


class TriggerEvent:
    """What a trigger yields: a JSON-able payload, passed to the resumed task as ``event``."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TriggerEvent) and other.payload == self.payload


class BaseTrigger(abc.ABC):
    """Subclass with ``serialize()`` and an async generator ``run()``; ``cleanup()`` runs when
    the trigger stops (fired, timed out, or its task was cleared)."""

    def __init__(self, **kwargs: Any) -> None:
        self.trigger_id: int | None = None

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """(import path of the class, keyword arguments to rebuild it)."""

    @abc.abstractmethod
    def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait, then yield events (the first one counts)."""

    async def cleanup(self) -> None:
        return None

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        return f"<{classpath} {kwargs}>"


class BaseEventTrigger(BaseTrigger):
    """A trigger that can watch an asset (``AssetWatcher``): the triggerer runs it for as long
    as a DAG is scheduled on the asset, and each event updates the asset (Airflow's rule: only
    these may be watchers, as they must end after each event)."""


def classpath_of(trigger: object) -> str:
    return f"{type(trigger).__module__}.{type(trigger).__qualname__}"


def load_trigger(classpath: str, kwargs: dict[str, Any]) -> BaseTrigger:
    """Rebuild a trigger from its ``serialize()`` output; InvalidInput if it cannot be."""
    module_name, _, name = classpath.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidInput(f"cannot import trigger class {classpath!r}: {exc}") from None
    trigger = cls(**kwargs)
    if not hasattr(trigger, "run"):
        raise InvalidInput(f"{classpath} is not a trigger (no run())")
    return trigger  # type: ignore[no-any-return]
