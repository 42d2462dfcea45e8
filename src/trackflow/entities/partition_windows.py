"""Windows and wait policies of partitioned assets, as Airflow 3.3's ``airflow.sdk``.

A window lists the upstream keys one downstream partition covers (the 24 hours of a day,
the days of a month, a fixed set of segments); a wait policy says how many of them must
have arrived before the downstream run may start. ``RollupMapper`` pairs them (N -> 1) and
``FanOutMapper`` uses the window the other way (1 -> N).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from trackflow.errors import InvalidInput


def _shift_months(dt: datetime, months: int) -> datetime:
    total = dt.month - 1 + months
    return dt.replace(year=dt.year + total // 12, month=total % 12 + 1)


class Window:
    """The upstream members of one period (``direction=BACKWARD``: the period ending at it)."""

    class Direction(StrEnum):
        BACKWARD = "backward"
        FORWARD = "forward"

    expected_decoded_type: ClassVar[type] = str

    def __init__(self, *, direction: Window.Direction | str = Direction.FORWARD) -> None:
        try:
            self.direction = Window.Direction(direction)
        except ValueError:
            raise InvalidInput(f"window direction must be 'forward' or 'backward', got {direction!r}") from None

    def to_upstream(self, decoded: Any) -> Iterable[Any]:
        raise NotImplementedError

    def dump(self) -> dict[str, Any]:
        return {"type": type(self).__name__, "direction": self.direction.value}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(direction={self.direction.value!r})"


class _StepWindow(Window):
    """``count`` steps from the period start (or ending at it, backward)."""

    expected_decoded_type: ClassVar[type] = datetime
    count = 0

    def step(self, start: datetime, index: int) -> datetime:
        raise NotImplementedError

    def to_upstream(self, decoded: datetime) -> Iterable[datetime]:
        self.check_start(decoded)
        base = self.step(decoded, -(self.count - 1)) if self.direction is Window.Direction.BACKWARD else decoded
        return [self.step(base, i) for i in range(self.count)]

    def check_start(self, start: datetime) -> None:
        pass


def _stepping(delta: timedelta) -> Callable[[Any, datetime, int], datetime]:
    return lambda self, start, index: start + delta * index


class HourWindow(_StepWindow):
    count = 60
    step = _stepping(timedelta(minutes=1))  # type: ignore[assignment]


class DayWindow(_StepWindow):
    count = 24
    step = _stepping(timedelta(hours=1))  # type: ignore[assignment]


class WeekWindow(_StepWindow):
    count = 7
    step = _stepping(timedelta(days=1))  # type: ignore[assignment]


class _MonthlyWindow(_StepWindow):
    def check_start(self, start: datetime) -> None:
        if start.day != 1:
            raise InvalidInput(f"{type(self).__name__} expects a period start on day 1 of the month, "
                               f"got {start.isoformat()}")

    def step(self, start: datetime, index: int) -> datetime:
        return _shift_months(start, index)


class QuarterWindow(_MonthlyWindow):
    count = 3


class YearWindow(_MonthlyWindow):
    count = 12


class MonthWindow(_StepWindow):
    """Every day of the calendar month (28-31); backward: the days up to the key's day."""

    def to_upstream(self, decoded: datetime) -> Iterable[datetime]:
        if decoded.day != 1:
            raise InvalidInput(f"MonthWindow expects a period start on day 1 of the month, got {decoded.isoformat()}")
        if self.direction is Window.Direction.BACKWARD:
            previous = _shift_months(decoded, -1)
            return [previous + timedelta(days=i + 1) for i in range((decoded - previous).days)]
        return [decoded + timedelta(days=i) for i in range((_shift_months(decoded, 1) - decoded).days)]


class SegmentWindow(Window):
    """A fixed set of categorical keys (regions, tenants): every downstream key needs them all."""

    def __init__(self, segments: Iterable[str], *,
                 direction: Window.Direction | str = Window.Direction.FORWARD) -> None:
        super().__init__(direction=direction)
        keys = list(segments) if not isinstance(segments, str) else [segments]
        for key in keys:
            if not isinstance(key, str) or not key:
                raise InvalidInput(f"SegmentWindow segment keys must be non-empty strings, got {key!r}")
        if not keys:
            raise InvalidInput("SegmentWindow needs at least one segment key")
        self.segments = frozenset(keys)

    def to_upstream(self, decoded: Any) -> Iterable[str]:
        return self.segments

    def dump(self) -> dict[str, Any]:
        return {**super().dump(), "segments": sorted(self.segments)}

    def __repr__(self) -> str:
        return f"SegmentWindow({sorted(self.segments)!r})"


WINDOWS: dict[str, type[Window]] = {cls.__name__: cls for cls in (
    HourWindow, DayWindow, WeekWindow, MonthWindow, QuarterWindow, YearWindow, SegmentWindow)}


def load_window(data: dict[str, Any]) -> Window:
    cls = WINDOWS[data["type"]]
    if cls is SegmentWindow:
        return SegmentWindow(data["segments"], direction=data["direction"])
    return cls(direction=data["direction"])


class WaitPolicy:
    """When a rollup's downstream run may start, given the keys that arrived."""

    def satisfied(self, matched: int, expected: int) -> bool:
        raise NotImplementedError

    def unreachable(self, expected: int) -> bool:
        return False

    def dump(self) -> dict[str, Any]:
        return {"type": type(self).__name__}


class WaitForAll(WaitPolicy):
    """Every key of the window (the default)."""

    def satisfied(self, matched: int, expected: int) -> bool:
        return matched >= expected

    def __repr__(self) -> str:
        return "WaitForAll()"


class MinimumCount(WaitPolicy):
    """At least ``n`` keys (``n > 0``), or at most ``-n`` missing (``n < 0``)."""

    def __init__(self, n: int) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n == 0:
            raise InvalidInput(f"MinimumCount takes a non-zero integer, got {n!r} (WaitForAll() requires every key)")
        self.n = n

    def satisfied(self, matched: int, expected: int) -> bool:
        return matched >= (self.n if self.n > 0 else max(0, expected + self.n))

    def unreachable(self, expected: int) -> bool:
        return self.n > expected

    def dump(self) -> dict[str, Any]:
        return {"type": "MinimumCount", "n": self.n}

    def __repr__(self) -> str:
        return f"MinimumCount({self.n})"


def load_wait_policy(data: dict[str, Any]) -> WaitPolicy:
    return MinimumCount(data["n"]) if data["type"] == "MinimumCount" else WaitForAll()
