"""Timetables: when runs of a DAG are due, with Airflow 3's trigger semantics.

A scheduled run's ``logical_date`` is the moment it is due (cron or timedelta trigger
time) and its data interval is that single instant, as in Airflow 3's
``CronTriggerTimetable`` / ``DeltaTriggerTimetable`` (the Airflow 3 defaults). Cron
expressions are evaluated in the DAG's time zone (that of ``start_date``; UTC when naive),
so ``0 9 * * *`` stays at 09:00 local time across DST changes. All returned datetimes are
timezone-aware.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError, croniter

from trackflow.errors import InvalidInput
from trackflow.pipelines.scheduler import asset_triggers

PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


@dataclass(frozen=True)
class DagRunInfo:
    """When a run is due and which logical date / data interval it covers."""

    logical_date: datetime
    data_interval_start: datetime
    data_interval_end: datetime
    run_after: datetime
    partition_key: str | None = None
    partition_date: datetime | None = None


@dataclass(frozen=True)
class Restriction:
    """Limits from the DAG: earliest = start_date, latest = end_date, catchup."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


def as_aware(value: datetime, tz: tzinfo = UTC) -> datetime:
    """Naive datetimes are taken to be in ``tz`` (UTC by default), like Airflow."""
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def tz_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    return "UTC" if tz.utcoffset(None) in (None, timedelta(0)) else str(tz)


def parse_tz(name: str) -> tzinfo:
    if name in ("UTC", "utc", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise InvalidInput(f"unknown time zone {name!r}") from None


class Timetable:
    """Base: a timetable that never schedules anything on its own."""

    kind = "none"
    summary = "None"
    periodic = False

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        """The next automatic run after the one at ``last_logical_date`` (None: no run yet),
        or None when there is none. The caller creates it once ``run_after <= now``."""
        return None

    def next_run(self, last_logical_date: datetime | None, last_interval: tuple[datetime, datetime] | None,
                 restriction: Restriction, now: datetime) -> DagRunInfo | None:
        """:meth:`next_dagrun_info`, for callers that know the last run's data interval too."""
        return self.next_dagrun_info(last_logical_date, restriction, now)

    def manual_info(self, logical_date: datetime) -> DagRunInfo:
        return DagRunInfo(logical_date, logical_date, logical_date, logical_date)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        """Every scheduled run with ``start <= logical_date <= end`` (for backfills)."""
        raise InvalidInput(f"schedule {self.summary!r} has no periodic runs to backfill")

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind}


class NullTimetable(Timetable):
    """``schedule=None``: manual runs only."""


class OnceTimetable(Timetable):
    """``@once``: one run at start_date."""

    kind = "once"
    summary = "@once"

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        if last_logical_date is not None or restriction.earliest is None:
            return None
        if restriction.latest is not None and restriction.earliest > restriction.latest:
            return None
        return self.manual_info(restriction.earliest)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        yield self.manual_info(start)


class _TriggerTimetable(Timetable):
    periodic = True

    def _next(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _prev(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _align_next(self, current: datetime) -> datetime:
        raise NotImplementedError

    def _align_prev(self, current: datetime) -> datetime:
        raise NotImplementedError

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        if restriction.catchup:
            if last_logical_date is None:
                if restriction.earliest is None:
                    return None
                start = self._align_next(restriction.earliest)
            else:
                start = self._next(last_logical_date)
        else:
            candidates = [self._align_prev(now)]
            if last_logical_date is not None:
                candidates.append(self._next(last_logical_date))
            if restriction.earliest is not None:
                candidates.append(self._align_next(restriction.earliest))
            start = max(candidates)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return self.manual_info(start)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        current = self._align_next(start)
        while current <= end:
            yield self.manual_info(current)
            current = self._next(current)


class CronTriggerTimetable(_TriggerTimetable):
    """A cron expression (or preset) evaluated in a time zone."""

    kind = "cron"

    def __init__(self, expression: str, tz: tzinfo = UTC, *, timezone: str | tzinfo | None = None) -> None:
        if timezone is not None:  # Airflow's spelling: CronTriggerTimetable(cron, timezone="UTC")
            tz = parse_tz(timezone) if isinstance(timezone, str) else timezone
        expr = PRESETS.get(expression, expression)
        if expression.startswith("@") and expression not in PRESETS:
            raise InvalidInput(
                f"invalid schedule {expression!r}: presets are @once, {', '.join(PRESETS)}"
            )
        try:
            valid = croniter.is_valid(expr)
        except Exception:  # croniter raises assorted errors for garbage
            valid = False
        if not valid:
            raise InvalidInput(f"invalid cron expression {expression!r}")
        self.expression = expression
        self.cron = expr
        self.tz = tz
        self.summary = expression

    def _iter(self, current: datetime) -> croniter:
        try:
            return croniter(self.cron, as_aware(current).astimezone(self.tz))
        except (CroniterBadCronError, CroniterBadDateError, CroniterNotAlphaError) as exc:
            raise InvalidInput(f"invalid cron expression {self.expression!r}: {exc}") from None

    def _next(self, current: datetime) -> datetime:
        return self._iter(current).get_next(datetime).astimezone(UTC)

    def _prev(self, current: datetime) -> datetime:
        return self._iter(current).get_prev(datetime).astimezone(UTC)

    def _align_next(self, current: datetime) -> datetime:
        current = as_aware(current)
        return current.astimezone(UTC) if croniter.match(self.cron, current.astimezone(self.tz)) and \
            current.second == 0 and current.microsecond == 0 else self._next(current)

    def _align_prev(self, current: datetime) -> datetime:
        current = as_aware(current)
        return current.astimezone(UTC) if croniter.match(self.cron, current.astimezone(self.tz)) and \
            current.second == 0 and current.microsecond == 0 else self._prev(current)

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "expression": self.expression, "tz": tz_name(self.tz)}


class DeltaTriggerTimetable(_TriggerTimetable):
    """A fixed ``timedelta`` between runs, counted from start_date."""

    kind = "delta"

    def __init__(self, delta: timedelta) -> None:
        if delta <= timedelta(0):
            raise InvalidInput(f"schedule timedelta must be positive, got {delta}")
        self.delta = delta
        self.summary = str(delta)

    def _next(self, current: datetime) -> datetime:
        return as_aware(current) + self.delta

    def _prev(self, current: datetime) -> datetime:
        return as_aware(current) - self.delta

    def _align_next(self, current: datetime) -> datetime:
        return as_aware(current)

    def _align_prev(self, current: datetime) -> datetime:
        return as_aware(current)

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "seconds": self.delta.total_seconds()}


class AssetTriggeredTimetable(Timetable):
    """``schedule=`` assets: runs come from asset events (see scheduler/asset_triggers.py),
    never from the clock. ``condition`` is the serialized condition tree."""

    kind = "assets"

    def __init__(self, condition: dict[str, Any]) -> None:
        self.condition = condition
        self.summary = f"Asset: {asset_triggers.summary(condition)}"

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "condition": self.condition}


class AssetOrTimeSchedule(Timetable):
    """Runs on a timetable *and* whenever the asset condition holds (Airflow's class)."""

    kind = "asset_or_time"

    def __init__(self, *, timetable: Timetable, assets: Any) -> None:
        from trackflow.pipelines.authoring.assets import as_condition

        condition = as_condition(assets if not isinstance(assets, tuple) else list(assets))
        if condition is None:
            raise InvalidInput(f"AssetOrTimeSchedule needs assets, got {assets!r}")
        self._set(timetable, condition.condition())

    def _set(self, timetable: Timetable, condition: dict[str, Any]) -> None:
        self.timetable = timetable
        self.condition = condition
        self.periodic = timetable.periodic
        self.summary = f"{timetable.summary} or Asset: {asset_triggers.summary(condition)}"

    @classmethod
    def from_parts(cls, timetable: Timetable, condition: dict[str, Any]) -> AssetOrTimeSchedule:
        """From a serialized condition (no Asset objects needed)."""
        schedule = cls.__new__(cls)
        schedule._set(timetable, condition)
        return schedule

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        return self.timetable.next_dagrun_info(last_logical_date, restriction, now)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        return self.timetable.iter_between(start, end)

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "timetable": self.timetable.serialize(), "condition": self.condition}


class CronPartitionTimetable(CronTriggerTimetable):
    """A cron schedule whose runs each produce one partition: the run's ``partition_key`` is
    its tick (shifted ``run_offset`` ticks) formatted with ``key_format`` in ``timezone``, and
    its tasks' asset events carry that key (Airflow 3.3)."""

    kind = "cron_partition"

    def __init__(self, cron: str, *, timezone: str | tzinfo = "UTC", run_offset: int | None = None,
                 run_immediately: Any = False, key_format: str = "%Y-%m-%dT%H:%M:%S") -> None:
        super().__init__(cron, timezone=timezone)
        if run_offset is not None and (not isinstance(run_offset, int) or isinstance(run_offset, bool)):
            raise InvalidInput(f"CronPartitionTimetable run_offset must be an integer, got {run_offset!r}")
        if not isinstance(key_format, str) or not key_format:
            raise InvalidInput(f"CronPartitionTimetable key_format must be a strftime format, got {key_format!r}")
        self.run_offset = run_offset or 0
        self.key_format = key_format

    def partitioned(self, info: DagRunInfo) -> DagRunInfo:
        date = info.logical_date
        for _ in range(abs(self.run_offset)):
            date = self._next(date) if self.run_offset > 0 else self._prev(date)
        key = date.astimezone(self.tz).strftime(self.key_format)
        return replace(info, partition_key=key, partition_date=date)

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        info = super().next_dagrun_info(last_logical_date, restriction, now)
        return None if info is None else self.partitioned(info)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        return (self.partitioned(info) for info in super().iter_between(start, end))

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "run_offset": self.run_offset, "key_format": self.key_format}


class PartitionedAtRuntime(Timetable):
    """Never scheduled: runs are triggered (with a ``partition_key``) and their tasks name the
    partitions they wrote with ``outlet_events[asset].add_partitions(...)``."""

    kind = "partitioned_at_runtime"
    summary = "PartitionedAtRuntime"


class PartitionedAssetTimetable(Timetable):
    """Runs per partition of its assets: each partitioned event's key goes through the asset's
    mapper (``partition_mapper_config``, else ``default_partition_mapper``) to the downstream
    key(s); a run with that key starts when the condition holds over the assets that delivered
    it, a rollup's wait policy included (scheduler/partition_runs.py)."""

    kind = "partitioned_assets"

    def __init__(self, *, assets: Any, partition_mapper_config: dict[Any, Any] | None = None,
                 default_partition_mapper: Any = None) -> None:
        from trackflow.entities.partition_mappers import IdentityMapper, PartitionMapper
        from trackflow.pipelines.authoring.assets import Asset, AssetNameRef, AssetUriRef, as_condition

        condition = as_condition(assets if not isinstance(assets, tuple) else list(assets))
        if condition is None:
            raise InvalidInput(f"PartitionedAssetTimetable needs assets, got {assets!r}")
        default = default_partition_mapper if default_partition_mapper is not None else IdentityMapper()
        mappers: dict[str, dict[str, Any]] = {}
        for key, mapper in (partition_mapper_config or {}).items():
            if not isinstance(key, (Asset, AssetNameRef, AssetUriRef)):
                raise InvalidInput(f"partition_mapper_config keys are Assets or Asset.ref(...), got {key!r}")
            if not isinstance(mapper, PartitionMapper):
                raise InvalidInput(f"partition_mapper_config[{key!r}] must be a partition mapper, got {mapper!r}")
            mappers[key.name] = mapper.dump()
        if not isinstance(default, PartitionMapper):
            raise InvalidInput(f"default_partition_mapper must be a partition mapper, got {default!r}")
        self._set(condition.condition(), mappers, default.dump())

    def _set(self, condition: dict[str, Any], mappers: dict[str, dict[str, Any]], default: dict[str, Any]) -> None:
        self.condition = condition
        self.mappers = mappers
        self.default_mapper = default
        self.summary = f"Partitioned Asset: {asset_triggers.summary(condition)}"

    @classmethod
    def from_parts(cls, data: dict[str, Any]) -> PartitionedAssetTimetable:
        timetable = cls.__new__(cls)
        timetable._set(data["condition"], data["mappers"], data["default_mapper"])
        return timetable

    def mapper_of(self, asset_name: str) -> dict[str, Any]:
        """The serialized mapper of one of its assets."""
        return self.mappers.get(asset_name, self.default_mapper)

    def serialize(self) -> dict[str, Any]:
        return {"kind": self.kind, "condition": self.condition, "mappers": self.mappers,
                "default_mapper": self.default_mapper}


class CustomTimetable(Timetable):
    """A user's own timetable: a subclass of authoring/timetable_api.Timetable (Airflow's
    ``airflow.timetables.base.Timetable``). Where the DAG file was loaded it wraps the user's
    object; elsewhere (scheduler, server) only its serialized form exists and every question
    goes to a child process (pipelines/custom_timetables.py), as user code never runs there."""

    kind = "custom"

    def __init__(self, data: dict[str, Any], user: Any = None) -> None:
        self.data = data
        self.user = user
        self.summary = str(data.get("summary") or data.get("qualname"))
        self.periodic = bool(data.get("periodic", True))

    @classmethod
    def wrap(cls, user: Any) -> CustomTimetable:
        """From the user's object (when its DAG file is parsed): validated and serialized."""
        from trackflow.pipelines.authoring import airflow_shim

        user.validate()
        params = user.serialize()
        try:
            json.dumps(params)
        except (TypeError, ValueError):
            raise InvalidInput(f"timetable {type(user).__qualname__}.serialize() returned {params!r}: "
                               "it must be JSON-serializable") from None
        return cls({"kind": cls.kind, "module": type(user).__module__, "qualname": type(user).__qualname__,
                    "params": params, "summary": str(user.summary), "periodic": bool(user.periodic),
                    "can_be_scheduled": bool(user.can_be_scheduled), "airflow_imports": airflow_shim.installed(),
                    "fileloc": ""}, user)

    def _ask(self, question: dict[str, Any]) -> Any:
        from trackflow.pipelines import custom_timetables

        if self.user is not None:
            return custom_timetables.answer(self.user, question)
        return custom_timetables.ask(self.data, question)

    @staticmethod
    def _from_answer(found: dict[str, Any]) -> DagRunInfo:
        start = datetime.fromisoformat(found["start"])
        return DagRunInfo(start, start, datetime.fromisoformat(found["end"]),
                          datetime.fromisoformat(found["run_after"]), partition_key=found.get("partition_key"),
                          partition_date=None if found.get("partition_date") is None
                          else datetime.fromisoformat(found["partition_date"]))

    def next_run(self, last_logical_date: datetime | None, last_interval: tuple[datetime, datetime] | None,
                 restriction: Restriction, now: datetime) -> DagRunInfo | None:
        if not self.data.get("can_be_scheduled", True):
            return None
        if last_interval is None and last_logical_date is not None:
            last_interval = (last_logical_date, last_logical_date)
        found = self._ask({"op": "next", "last": None if last_interval is None else [d.isoformat() for d in
                                                                                       last_interval],
                           "restriction": {"earliest": _iso(restriction.earliest), "latest": _iso(restriction.latest),
                                           "catchup": restriction.catchup}})
        return None if found is None else self._from_answer(found)

    def next_dagrun_info(
        self, last_logical_date: datetime | None, restriction: Restriction, now: datetime
    ) -> DagRunInfo | None:
        return self.next_run(last_logical_date, None, restriction, now)

    def manual_info(self, logical_date: datetime) -> DagRunInfo:
        """Airflow's manual run: the logical date given, the data interval the timetable infers."""
        info = self._from_answer(self._ask({"op": "manual", "run_after": logical_date.isoformat()}))
        return replace(info, logical_date=logical_date, run_after=logical_date)

    def iter_between(self, start: datetime, end: datetime) -> Iterator[DagRunInfo]:
        found = self._ask({"op": "between", "start": start.isoformat(), "end": end.isoformat()})
        return iter([self._from_answer(f) for f in found])

    def serialize(self) -> dict[str, Any]:
        return dict(self.data)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def asset_condition(data: dict[str, Any]) -> dict[str, Any] | None:
    """The asset condition of a serialized timetable, if it has one."""
    return data.get("condition") if data.get("kind") in ("assets", "asset_or_time", "partitioned_assets") else None


def partition_mappers(specs: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """DAG id -> asset name -> serialized mapper, for the DAGs scheduled on partitions."""
    out = {}
    for spec in specs:
        data = spec.get("timetable") or {}
        if data.get("kind") == PartitionedAssetTimetable.kind:
            timetable = PartitionedAssetTimetable.from_parts(data)
            names = asset_triggers.asset_names(data["condition"])
            out[spec["dag_id"]] = {name: timetable.mapper_of(name) for name in names}
    return out


def timetable_from_schedule(schedule: Any, tz: tzinfo = UTC) -> Timetable:
    """Build a timetable from a DAG's ``schedule``; InvalidInput naming a bad value."""
    if schedule is None:
        return NullTimetable()
    if isinstance(schedule, Timetable):
        return schedule
    from trackflow.pipelines.authoring.assets import condition_of
    from trackflow.pipelines.authoring.timetable_api import Timetable as UserTimetable

    if isinstance(schedule, UserTimetable):
        return CustomTimetable.wrap(schedule)

    condition = condition_of(schedule)
    if condition is not None:
        return AssetTriggeredTimetable(condition)
    if isinstance(schedule, timedelta):
        return DeltaTriggerTimetable(schedule)
    if isinstance(schedule, str):
        if schedule == "@once":
            return OnceTimetable()
        return CronTriggerTimetable(schedule, tz)
    raise InvalidInput(f"unsupported schedule {schedule!r}: use a cron string, a preset, a timedelta, assets, "
                       "a Timetable or None")


def deserialize_timetable(data: dict[str, Any]) -> Timetable:
    kind = data.get("kind", "none")
    if kind == "cron":
        return CronTriggerTimetable(data["expression"], parse_tz(data.get("tz", "UTC")))
    if kind == "delta":
        return DeltaTriggerTimetable(timedelta(seconds=data["seconds"]))
    if kind == "once":
        return OnceTimetable()
    if kind == "assets":
        return AssetTriggeredTimetable(data["condition"])
    if kind == "asset_or_time":
        return AssetOrTimeSchedule.from_parts(deserialize_timetable(data["timetable"]), data["condition"])
    if kind == "cron_partition":
        return CronPartitionTimetable(data["expression"], timezone=parse_tz(data.get("tz", "UTC")),
                                      run_offset=data["run_offset"], key_format=data["key_format"])
    if kind == "partitioned_at_runtime":
        return PartitionedAtRuntime()
    if kind == "partitioned_assets":
        return PartitionedAssetTimetable.from_parts(data)
    if kind == CustomTimetable.kind:
        return CustomTimetable(data)
    return NullTimetable()
