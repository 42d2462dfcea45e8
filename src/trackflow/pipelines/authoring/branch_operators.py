"""Branching on something other than a callable (Airflow's standard provider):
``BaseBranchOperator`` (subclass with ``choose_branch``), ``BranchDayOfWeekOperator``,
``BranchDateTimeOperator`` and ``LatestOnlyOperator``. Each follows the task ids (or task
group ids) it chooses and skips the other direct downstream tasks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.operators import BranchMixin
from trackflow.pipelines.authoring.weekday import WeekDay
from trackflow.pipelines.scheduler.timetables import Restriction


class BaseBranchOperator(BranchMixin, BaseOperator):
    """Subclass with ``choose_branch(context)``: a task id, a task group id, a list of them,
    or None (skip every direct downstream task)."""

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str] | None:
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch(context)")

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, self.choose_branch(context))


def _now_or_logical_date(context: dict[str, Any], use_logical_date: bool) -> dt.datetime:
    if use_logical_date:
        return context.get("logical_date") or context["dag_run"].run_after  # type: ignore[no-any-return]
    return dt.datetime.now(dt.UTC)


class BranchDayOfWeekOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` on the given day(s) of the week (today in UTC, or the
    run's logical date with ``use_task_logical_date``), else ``follow_task_ids_if_false``."""

    def __init__(self, *, follow_task_ids_if_true: str | Iterable[str], follow_task_ids_if_false: str | Iterable[str],
                 week_day: Any, use_task_logical_date: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        now = _now_or_logical_date(context, self.use_task_logical_date)
        if now.isoweekday() in self._week_day_num:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false


def target_times_as_dates(base: dt.datetime, lower: dt.datetime | dt.time | None,
                          upper: dt.datetime | dt.time | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Times of day become datetimes on ``base``'s date; an upper time before the lower one
    is on the next day (a window across midnight)."""
    if isinstance(lower, dt.datetime) and isinstance(upper, dt.datetime):
        return lower, upper
    low = dt.datetime.combine(base, lower) if isinstance(lower, dt.time) else lower
    high = dt.datetime.combine(base, upper) if isinstance(upper, dt.time) else upper
    if low is not None and high is not None and high < low:
        high += dt.timedelta(days=1)
    return low, high


class BranchDateTimeOperator(BaseBranchOperator):
    """Follows ``follow_task_ids_if_true`` when now (or the logical date, with
    ``use_task_logical_date``) is within ``[target_lower, target_upper]`` — datetimes or times
    of day, naive ones in the DAG's time zone; either bound may be None, not both."""

    def __init__(self, *, follow_task_ids_if_true: str | Iterable[str], follow_task_ids_if_false: str | Iterable[str],
                 target_lower: dt.datetime | dt.time | None, target_upper: dt.datetime | dt.time | None,
                 use_task_logical_date: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise InvalidInput(f"{self.task_id}: target_lower and target_upper are both None; give at least one")
        for name, value in (("target_lower", target_lower), ("target_upper", target_upper)):
            if value is not None and not isinstance(value, (dt.datetime, dt.time)):
                raise InvalidInput(f"{self.task_id}: {name} must be a datetime or a time, got {value!r}")
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        now = _now_or_logical_date(context, self.use_task_logical_date)
        lower, upper = target_times_as_dates(now, self.target_lower, self.target_upper)
        tz = self.dag.timezone if self.dag is not None else dt.UTC
        lower = lower if lower is None or lower.tzinfo else lower.replace(tzinfo=tz)
        upper = upper if upper is None or upper.tzinfo else upper.replace(tzinfo=tz)
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and lower > now:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true


class LatestOnlyOperator(BaseBranchOperator):
    """Skips its direct downstream tasks unless this run is the latest of the schedule: a
    manual (or test) run always proceeds; a scheduled run proceeds only while now is between
    its data interval's start and the end of the next interval the timetable would make."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context: dict[str, Any]) -> str | Iterable[str]:
        run = context["dag_run"]
        everything = sorted(self.downstream_task_ids)
        if run.run_type not in ("scheduled", "backfill"):
            print("Manually triggered DAG run: allowing execution to proceed.")
            return everything
        start = run.data_interval_start or run.logical_date
        end = run.data_interval_end or run.logical_date
        assert self.dag is not None
        following = self.dag.timetable.next_run(run.logical_date, (start, end), Restriction(None, None, True), end)
        if following is None:
            print("Last scheduled run: allowing execution to proceed.")
            return everything
        now = dt.datetime.now(dt.UTC)
        print(f"Checking latest only with left window {start}, right window {following.data_interval_end}, "
              f"now {now}")
        if not start < now <= following.data_interval_end:
            print("Not the latest run: skipping downstream.")
            return []
        print("Latest run: allowing execution to proceed.")
        return everything
