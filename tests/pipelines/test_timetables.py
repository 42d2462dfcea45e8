"""Timetables with Airflow 3 trigger semantics: cron, presets, timedelta, @once, catchup, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from trackflow.errors import InvalidInput
from trackflow.pipelines.scheduler.timetables import (
    Restriction,
    deserialize_timetable,
    timetable_from_schedule,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_with_catchup_walks_every_day_from_start_to_end() -> None:
    tt = timetable_from_schedule("@daily")
    r = Restriction(utc(2025, 1, 1), utc(2025, 1, 3), catchup=True)
    first = tt.next_dagrun_info(None, r, utc(2025, 6, 1))
    assert first is not None and first.logical_date == utc(2025, 1, 1) == first.data_interval_start
    second = tt.next_dagrun_info(first.logical_date, r, utc(2025, 6, 1))
    assert second is not None and second.logical_date == utc(2025, 1, 2)
    assert tt.next_dagrun_info(utc(2025, 1, 3), r, utc(2025, 6, 1)) is None  # past end_date


def test_no_catchup_runs_only_the_latest_due_time() -> None:
    tt = timetable_from_schedule("0 * * * *")
    r = Restriction(utc(2025, 1, 1), None, catchup=False)
    info = tt.next_dagrun_info(None, r, utc(2025, 3, 1, 10, 30))
    assert info is not None and info.logical_date == utc(2025, 3, 1, 10)
    nxt = tt.next_dagrun_info(info.logical_date, r, utc(2025, 3, 1, 10, 31))
    assert nxt is not None and nxt.run_after == utc(2025, 3, 1, 11)  # not due yet


def test_cron_in_a_time_zone_keeps_local_time_across_dst() -> None:
    tz = ZoneInfo("Europe/Amsterdam")
    tt = timetable_from_schedule("0 9 * * *", tz)
    before = list(tt.iter_between(datetime(2025, 3, 29, tzinfo=tz), datetime(2025, 3, 31, 23, tzinfo=tz)))
    assert [i.logical_date.astimezone(tz).hour for i in before] == [9, 9, 9]
    assert [i.logical_date.hour for i in before] == [8, 7, 7]  # UTC shifts at the DST change
    assert deserialize_timetable(tt.serialize()).serialize() == tt.serialize()


def test_timedelta_once_and_none() -> None:
    delta = timetable_from_schedule(timedelta(hours=6))
    r = Restriction(utc(2025, 1, 1), None, catchup=True)
    assert [i.logical_date for i in delta.iter_between(utc(2025, 1, 1), utc(2025, 1, 1, 13))] == [
        utc(2025, 1, 1), utc(2025, 1, 1, 6), utc(2025, 1, 1, 12)]
    once = timetable_from_schedule("@once")
    first = once.next_dagrun_info(None, r, utc(2025, 2, 1))
    assert first is not None and first.logical_date == utc(2025, 1, 1)
    assert once.next_dagrun_info(first.logical_date, r, utc(2025, 2, 1)) is None
    assert timetable_from_schedule(None).next_dagrun_info(None, r, utc(2025, 2, 1)) is None


@pytest.mark.parametrize("bad", ["* * *", "61 * * * *", "@sometimes", "not cron"])
def test_invalid_schedules_are_named(bad: str) -> None:
    with pytest.raises(InvalidInput, match="cron|preset|@"):
        timetable_from_schedule(bad)
    with pytest.raises(InvalidInput):
        timetable_from_schedule(timedelta(0))
