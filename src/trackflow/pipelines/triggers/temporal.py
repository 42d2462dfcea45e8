"""Time triggers (Airflow's ``DateTimeTrigger`` and ``TimeDeltaTrigger``): fire at a moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.triggers.base import BaseTrigger, TriggerEvent, classpath_of


class DateTimeTrigger(BaseTrigger):
    """Fires once ``moment`` (timezone-aware) has passed; the event's payload is the moment.
    ``end_from_trigger`` is accepted for Airflow's signature; the task always resumes in a
    worker (its ``execute_complete``), which ends it the same way."""

    def __init__(self, moment: datetime, *, end_from_trigger: bool = False) -> None:
        super().__init__()
        if not isinstance(moment, datetime):
            raise InvalidInput(f"DateTimeTrigger needs a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None:
            raise InvalidInput("DateTimeTrigger needs a timezone-aware datetime")
        self.moment = moment
        self.end_from_trigger = end_from_trigger

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(self), {"moment": self.moment, "end_from_trigger": self.end_from_trigger}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Sleep in bounded steps: a long sleep would miss a clock change (e.g. a resumed VM).
        while (left := (self.moment - datetime.now(UTC)).total_seconds()) > 0:
            await asyncio.sleep(min(left, 60.0))
        yield TriggerEvent(self.moment)


class TimeDeltaTrigger(DateTimeTrigger):
    """Fires ``delta`` after the task deferred."""

    def __init__(self, delta: timedelta, *, end_from_trigger: bool = False) -> None:
        if not isinstance(delta, timedelta):
            raise InvalidInput(f"TimeDeltaTrigger needs a timedelta, got {type(delta).__name__}")
        super().__init__(datetime.now(UTC) + delta, end_from_trigger=end_from_trigger)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        # Rebuilt as the moment it fires: a triggerer that picks it up later must not wait anew.
        return classpath_of(DateTimeTrigger(self.moment)), {"moment": self.moment,
                                                            "end_from_trigger": self.end_from_trigger}
