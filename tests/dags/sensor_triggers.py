"""Trigger classes of the sensor tests: importable by the triggerer from the DAGs folder."""
from __future__ import annotations

import asyncio
from typing import Any

from trackflow.sensors import BaseTrigger, TriggerEvent


class CountdownTrigger(BaseTrigger):
    """Fires after ``seconds`` with ``{"waited": seconds, "tag": tag}``."""

    def __init__(self, seconds: float, tag: str) -> None:
        super().__init__()
        self.seconds = seconds
        self.tag = tag

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return "sensor_triggers.CountdownTrigger", {"seconds": self.seconds, "tag": self.tag}

    async def run(self):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.seconds)
        yield TriggerEvent({"waited": self.seconds, "tag": self.tag})


class BrokenTrigger(BaseTrigger):
    """Raises in the triggerer."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return "sensor_triggers.BrokenTrigger", {}

    async def run(self):  # type: ignore[no-untyped-def]
        raise RuntimeError("the service behind this trigger is down")
        yield TriggerEvent(None)  # pragma: no cover - makes run() an async generator


class NeverTrigger(BaseTrigger):
    """Never fires (its wait times out)."""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return "sensor_triggers.NeverTrigger", {}

    async def run(self):  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()
        yield TriggerEvent(None)  # pragma: no cover
