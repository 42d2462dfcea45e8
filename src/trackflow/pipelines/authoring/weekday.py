"""``WeekDay`` (Airflow's ``airflow.providers.standard.utils.weekday``): ISO day numbers, and
day names or sets of them turned into those numbers."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

from trackflow.errors import InvalidInput


@enum.unique
class WeekDay(enum.IntEnum):
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7

    @classmethod
    def get_weekday_number(cls, week_day_str: str) -> WeekDay:
        """``"Sunday"`` (any case) -> ``WeekDay.SUNDAY``."""
        name = week_day_str.upper()
        if name not in cls.__members__:
            raise InvalidInput(f'invalid week day {week_day_str!r}: use a day name such as "Monday"')
        return cls[name]

    @classmethod
    def convert(cls, day: str | WeekDay) -> WeekDay:
        return day if isinstance(day, WeekDay) else cls.get_weekday_number(day)

    @classmethod
    def validate_week_day(cls, week_day: Any) -> set[int]:
        """A day, a day name, or an iterable of them -> the set of ISO day numbers."""
        if isinstance(week_day, (str, WeekDay)):
            week_day = {week_day}
        if not isinstance(week_day, Iterable):
            raise InvalidInput(f"week_day must be a day name, a WeekDay or a set of them, got {week_day!r}")
        days = set()
        for item in week_day:
            if not isinstance(item, (str, WeekDay)):
                raise InvalidInput(f"week_day must be a day name, a WeekDay or a set of them, got {item!r}")
            days.add(int(cls.convert(item)))
        return days
