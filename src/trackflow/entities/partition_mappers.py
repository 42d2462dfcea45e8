"""Partition mappers, as Airflow 3.3's ``airflow.sdk``: how the partition key of an upstream
asset event becomes the partition key(s) of a downstream DAG run.

``to_downstream`` maps one upstream key to one downstream key (or several: fan-out). A
rollup mapper also says which upstream keys one downstream key needs (``to_upstream``), and
the scheduler holds the run until its wait policy is met. Mappers serialize to plain dicts
(``dump``/``load_mapper``) so the scheduler and the event recorder need no DAG file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from trackflow.entities.partition_windows import (
    WaitForAll,
    WaitPolicy,
    Window,
    load_wait_policy,
    load_window,
)
from trackflow.errors import InvalidInput

# strftime directives a key format may hold, as regular expressions (for formats strptime
# cannot read back, such as the ISO week "%V" or the "{quarter}" placeholder)
_DIRECTIVES = {"%Y": r"\d{4}", "%m": r"\d{2}", "%d": r"\d{2}", "%H": r"\d{2}", "%M": r"\d{2}", "%S": r"\d{2}",
               "%V": r"\d{2}", "%U": r"\d{2}", "%W": r"\d{2}"}


WORD = r"\w+"


def _key_pattern(fmt: str, placeholders: dict[str, str] | None = None) -> re.Pattern[str]:
    """A regex with one named group per directive (``%Y`` -> ``Y``) and ``{name}`` placeholder."""
    parts, i = [], 0
    while i < len(fmt):
        if fmt[i:i + 2] in _DIRECTIVES:
            parts.append(f"(?P<{fmt[i + 1]}>{_DIRECTIVES[fmt[i:i + 2]]})")
            i += 2
        elif fmt[i] == "{" and (end := fmt.find("}", i)) > i and fmt[i + 1:end].isidentifier():
            name = fmt[i + 1:end]
            parts.append(f"(?P<{name}>{(placeholders or {}).get(name, WORD)})")
            i = end + 1
        else:
            parts.append(re.escape(fmt[i]))
            i += 1
    try:
        return re.compile("^" + "".join(parts) + "$")
    except re.error as exc:
        raise InvalidInput(f"output_format {fmt!r} repeats a directive: {exc}") from None


def _tz(value: str | tzinfo) -> tzinfo:
    from trackflow.pipelines.scheduler.timetables import parse_tz

    return parse_tz(value) if isinstance(value, str) else value


class PartitionMapper:
    """Base: maps an upstream key to downstream key(s)."""

    is_rollup: ClassVar[bool] = False
    expected_decoded_type: ClassVar[type] = str

    def __init__(self, *, max_downstream_keys: int | None = None) -> None:
        if max_downstream_keys is not None and (not isinstance(max_downstream_keys, int) or max_downstream_keys < 1):
            raise InvalidInput(f"max_downstream_keys must be a positive integer or None, got {max_downstream_keys!r}")
        self.max_downstream_keys = max_downstream_keys

    def to_downstream(self, key: str) -> str | list[str]:
        raise NotImplementedError

    def decode_downstream(self, key: str) -> Any:
        return key

    def encode_upstream(self, decoded: Any) -> str:
        return str(decoded)

    def format(self, decoded: Any) -> str:
        return decoded.isoformat() if isinstance(decoded, datetime) else str(decoded)

    def to_partition_date(self, key: str) -> datetime | None:
        return None

    def fields(self) -> dict[str, Any]:
        return {}

    def dump(self) -> dict[str, Any]:
        cap = {} if self.max_downstream_keys is None else {"max_downstream_keys": self.max_downstream_keys}
        return {"type": type(self).__name__, **self.fields(), **cap}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.fields().items())})"


class IdentityMapper(PartitionMapper):
    """The same key downstream (the default)."""

    def to_downstream(self, key: str) -> str:
        return key


class AllowedKeyMapper(PartitionMapper):
    """The same key, if it is one of ``allowed_keys`` (others queue nothing)."""

    def __init__(self, allowed_keys: list[str], *, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.allowed_keys = list(allowed_keys)

    def to_downstream(self, key: str) -> str:
        if key not in self.allowed_keys:
            raise InvalidInput(f"key {key!r} is not one of the allowed keys {self.allowed_keys}")
        return key

    def fields(self) -> dict[str, Any]:
        return {"allowed_keys": self.allowed_keys}


class FixedKeyMapper(PartitionMapper):
    """Every upstream key to one downstream key (with a ``SegmentWindow``: a categorical rollup)."""

    def __init__(self, downstream_key: str, *, max_downstream_keys: int | None = None) -> None:
        if not isinstance(downstream_key, str) or not downstream_key:
            raise InvalidInput(f"FixedKeyMapper downstream_key must be a non-empty string, got {downstream_key!r}")
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.downstream_key = downstream_key

    def to_downstream(self, key: str) -> str:
        return self.downstream_key

    def fields(self) -> dict[str, Any]:
        return {"downstream_key": self.downstream_key}


class _TemporalMapper(PartitionMapper):
    """Parses the key with ``input_format`` (in ``timezone`` when naive), moves it to the start
    of its period and formats it with ``output_format``."""

    expected_decoded_type: ClassVar[type] = datetime
    default_output_format: ClassVar[str] = ""
    placeholders: ClassVar[dict[str, str]] = {}

    def __init__(self, *, timezone: str | tzinfo = "UTC", input_format: str = "%Y-%m-%dT%H:%M:%S",
                 output_format: str | None = None, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.timezone = _tz(timezone)
        self.input_format = input_format
        self.output_format = output_format or self.default_output_format
        self.pattern = _key_pattern(self.output_format, self.placeholders)

    def normalize(self, dt: datetime) -> datetime:
        raise NotImplementedError

    def to_downstream(self, key: str) -> str:
        try:
            dt = datetime.strptime(key, self.input_format)
        except ValueError as exc:
            raise InvalidInput(f"{type(self).__name__}: key {key!r} does not match {self.input_format!r}: {exc}") \
                from None
        dt = dt.replace(tzinfo=self.timezone) if dt.tzinfo is None else dt.astimezone(self.timezone)
        return self.format(self.normalize(dt))

    def format(self, decoded: Any) -> str:
        return str(decoded.strftime(self.output_format))

    def decode_downstream(self, key: str) -> datetime:
        match = self.pattern.match(key)
        if match is None or not {"Y"} <= set(match.groupdict()):
            raise InvalidInput(f"{type(self).__name__}: key {key!r} does not match {self.output_format!r}")
        parts = match.groupdict()
        return datetime(int(parts["Y"]), int(parts.get("m") or 1), int(parts.get("d") or 1),
                        int(parts.get("H") or 0), int(parts.get("M") or 0), int(parts.get("S") or 0))

    def encode_upstream(self, decoded: datetime) -> str:
        naive = decoded.astimezone(self.timezone).replace(tzinfo=None) if decoded.tzinfo else decoded
        return naive.replace(tzinfo=self.timezone).strftime(self.input_format)

    def to_partition_date(self, key: str) -> datetime | None:
        return self.normalize(self.decode_downstream(key)).replace(tzinfo=self.timezone)

    def fields(self) -> dict[str, Any]:
        from trackflow.pipelines.scheduler.timetables import tz_name

        return {"timezone": tz_name(self.timezone), "input_format": self.input_format,
                "output_format": self.output_format}


class StartOfHourMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024-03-13T10``."""

    default_output_format = "%Y-%m-%dT%H"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(minute=0, second=0, microsecond=0)


class StartOfDayMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024-03-13``."""

    default_output_format = "%Y-%m-%d"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(hour=0, minute=0, second=0, microsecond=0)


class StartOfWeekMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024-03-11 (W11)`` (the ISO week's Monday)."""

    default_output_format = "%Y-%m-%d (W%V)"

    def normalize(self, dt: datetime) -> datetime:
        return (dt - timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


class StartOfMonthMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024-03``."""

    default_output_format = "%Y-%m"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


class StartOfQuarterMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024-Q1``."""

    default_output_format = "%Y-Q{quarter}"
    placeholders = {"quarter": "[1-4]"}

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(month=(dt.month - 1) // 3 * 3 + 1, day=1, hour=0, minute=0, second=0, microsecond=0)

    def format(self, decoded: Any) -> str:
        return str(decoded.strftime(self.output_format)).format(quarter=(decoded.month - 1) // 3 + 1)

    def decode_downstream(self, key: str) -> datetime:
        match = self.pattern.match(key)
        if match is None or "quarter" not in match.groupdict():
            raise InvalidInput(f"StartOfQuarterMapper: key {key!r} does not match {self.output_format!r}")
        return datetime(int(match["Y"]), (int(match["quarter"]) - 1) * 3 + 1, 1)


class StartOfYearMapper(_TemporalMapper):
    """``2024-03-13T10:42:15`` -> ``2024``."""

    default_output_format = "%Y"

    def normalize(self, dt: datetime) -> datetime:
        return dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)


class ProductMapper(PartitionMapper):
    """A composite key ``a|b``: each segment through its own mapper."""

    def __init__(self, mapper0: PartitionMapper, mapper1: PartitionMapper, /, *mappers: PartitionMapper,
                 delimiter: str = "|", max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.mappers = [mapper0, mapper1, *mappers]
        self.delimiter = delimiter

    def to_downstream(self, key: str) -> str:
        segments = key.split(self.delimiter)
        if len(segments) != len(self.mappers):
            raise InvalidInput(f"ProductMapper: expected {len(self.mappers)} segments in key {key!r}, "
                               f"got {len(segments)}")
        out = []
        for mapper, segment in zip(self.mappers, segments, strict=True):
            mapped = mapper.to_downstream(segment)
            if not isinstance(mapped, str):
                raise InvalidInput(f"ProductMapper: {type(mapper).__name__} returned several keys")
            out.append(mapped)
        return self.delimiter.join(out)

    def to_partition_date(self, key: str) -> datetime | None:
        segments = key.split(self.delimiter)
        if len(segments) != len(self.mappers):
            return None
        dates = [d for m, s in zip(self.mappers, segments, strict=True) if (d := m.to_partition_date(s))]
        return dates[0] if len(dates) == 1 else None

    def fields(self) -> dict[str, Any]:
        return {"delimiter": self.delimiter, "mappers": [m.dump() for m in self.mappers]}


class ChainMapper(PartitionMapper):
    """Mappers applied one after the other (a fan-out step multiplies the keys)."""

    def __init__(self, mapper0: PartitionMapper, mapper1: PartitionMapper, /, *mappers: PartitionMapper,
                 max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.mappers = [mapper0, mapper1, *mappers]

    def to_downstream(self, key: str) -> str | list[str]:
        keys = [key]
        for mapper in self.mappers:
            keys = [k for current in keys for k in _as_keys(mapper.to_downstream(current))]
        return keys[0] if len(keys) == 1 else keys

    def to_partition_date(self, key: str) -> datetime | None:
        return self.mappers[-1].to_partition_date(key)

    def fields(self) -> dict[str, Any]:
        return {"mappers": [m.dump() for m in self.mappers]}


class RollupMapper(PartitionMapper):
    """N upstream keys -> one downstream key: ``upstream_mapper`` names the downstream key,
    ``window`` the upstream keys it needs, ``wait_policy`` how many must have arrived."""

    is_rollup: ClassVar[bool] = True

    def __init__(self, *, upstream_mapper: PartitionMapper, window: Window, wait_policy: WaitPolicy | None = None,
                 max_downstream_keys: int | None = None) -> None:
        if upstream_mapper.expected_decoded_type is not window.expected_decoded_type:
            raise InvalidInput(f"{type(window).__name__} expects {window.expected_decoded_type.__name__} keys but "
                               f"{type(upstream_mapper).__name__} decodes to "
                               f"{upstream_mapper.expected_decoded_type.__name__}: pair matching ones")
        super().__init__(max_downstream_keys=max_downstream_keys)
        self.upstream_mapper = upstream_mapper
        self.window = window
        self.wait_policy = wait_policy or WaitForAll()

    def to_downstream(self, key: str) -> str | list[str]:
        return self.upstream_mapper.to_downstream(key)

    def to_upstream(self, key: str) -> frozenset[str]:
        decoded = self.upstream_mapper.decode_downstream(key)
        return frozenset(self.upstream_mapper.encode_upstream(member) for member in self.window.to_upstream(decoded))

    def to_partition_date(self, key: str) -> datetime | None:
        return self.upstream_mapper.to_partition_date(key)

    def fields(self) -> dict[str, Any]:
        return {"upstream_mapper": self.upstream_mapper.dump(), "window": self.window.dump(),
                "wait_policy": self.wait_policy.dump()}


class FanOutMapper(PartitionMapper):
    """One upstream key -> one downstream key per member of the window."""

    default_downstream: ClassVar[dict[str, type[_TemporalMapper]]] = {
        "DayWindow": StartOfHourMapper, "WeekWindow": StartOfDayMapper, "MonthWindow": StartOfDayMapper,
        "QuarterWindow": StartOfMonthMapper, "YearWindow": StartOfMonthMapper,
    }

    def __init__(self, *, upstream_mapper: PartitionMapper, window: Window,
                 downstream_mapper: PartitionMapper | None = None, max_downstream_keys: int | None = None) -> None:
        super().__init__(max_downstream_keys=max_downstream_keys)
        if downstream_mapper is None:
            default = self.default_downstream.get(type(window).__name__)
            if default is None:
                raise InvalidInput(f"FanOutMapper has no default downstream_mapper for {type(window).__name__}; "
                                   "pass downstream_mapper")
            downstream_mapper = default()
        self.upstream_mapper = upstream_mapper
        self.window = window
        self.downstream_mapper = downstream_mapper

    def to_downstream(self, key: str) -> list[str]:
        formatted = self.upstream_mapper.to_downstream(key)
        if not isinstance(formatted, str):
            raise InvalidInput("FanOutMapper: the upstream_mapper must map to a single key")
        coarse = self.upstream_mapper.decode_downstream(formatted)
        return [self.downstream_mapper.format(member) for member in self.window.to_upstream(coarse)]

    def to_partition_date(self, key: str) -> datetime | None:
        return self.downstream_mapper.to_partition_date(key)

    def fields(self) -> dict[str, Any]:
        return {"upstream_mapper": self.upstream_mapper.dump(), "window": self.window.dump(),
                "downstream_mapper": self.downstream_mapper.dump()}


def _as_keys(mapped: str | Iterable[str]) -> list[str]:
    keys = [mapped] if isinstance(mapped, str) else list(mapped)
    for key in keys:
        if not isinstance(key, str):
            raise InvalidInput(f"a partition mapper returned {key!r}, not a string key")
    return keys


def downstream_keys(mapper: PartitionMapper, key: str) -> list[str]:
    """The downstream keys of ``key``, in order, without repeats."""
    return list(dict.fromkeys(_as_keys(mapper.to_downstream(key))))


MAPPERS: dict[str, type[PartitionMapper]] = {cls.__name__: cls for cls in (
    IdentityMapper, AllowedKeyMapper, FixedKeyMapper, StartOfHourMapper, StartOfDayMapper, StartOfWeekMapper,
    StartOfMonthMapper, StartOfQuarterMapper, StartOfYearMapper, ProductMapper, ChainMapper, RollupMapper,
    FanOutMapper)}


def load_mapper(data: dict[str, Any]) -> PartitionMapper:
    """The mapper ``dump()`` described."""
    kind, cap = data["type"], data.get("max_downstream_keys")
    cls = MAPPERS[kind]
    if issubclass(cls, _TemporalMapper):
        return cls(timezone=data["timezone"], input_format=data["input_format"], output_format=data["output_format"],
                   max_downstream_keys=cap)
    if cls is AllowedKeyMapper:
        return AllowedKeyMapper(data["allowed_keys"], max_downstream_keys=cap)
    if cls is FixedKeyMapper:
        return FixedKeyMapper(data["downstream_key"], max_downstream_keys=cap)
    if cls is ProductMapper:
        return ProductMapper(*[load_mapper(m) for m in data["mappers"]],  # type: ignore[call-arg]
                             delimiter=data["delimiter"], max_downstream_keys=cap)
    if cls is ChainMapper:
        return ChainMapper(*[load_mapper(m) for m in data["mappers"]],  # type: ignore[call-arg]
                           max_downstream_keys=cap)
    if cls is RollupMapper:
        return RollupMapper(upstream_mapper=load_mapper(data["upstream_mapper"]), window=load_window(data["window"]),
                            wait_policy=load_wait_policy(data["wait_policy"]), max_downstream_keys=cap)
    if cls is FanOutMapper:
        return FanOutMapper(upstream_mapper=load_mapper(data["upstream_mapper"]), window=load_window(data["window"]),
                            downstream_mapper=load_mapper(data["downstream_mapper"]), max_downstream_keys=cap)
    return IdentityMapper(max_downstream_keys=cap)

