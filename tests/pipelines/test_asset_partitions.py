"""Partitioned assets (Airflow 3.3's model). The mappers, windows and wait policies are pure and
tested first — the expected keys are what Airflow 3.3.2's own mappers return for the same
calls. Then on real processes: partitions written at run time (``add_partitions``) and sent
through the REST API and the CLI start one run per downstream partition, with its key and
date; a daily rollup waits for all 24 hours, a region rollup fires on 2 of 3; a weekly key fans
out to 7 daily runs; a plain asset consumer is not started by partitioned events (as Airflow);
a partition starts its run exactly once, also when the scheduler stops in between."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from executor_harness import FAST, Deployment, deployment
from pipeline_helpers import DAGS, wait_for

from servers import ThreadServer
from trackflow import (
    Asset,
    CronPartitionTimetable,
    DayWindow,
    FanOutMapper,
    FixedKeyMapper,
    IdentityMapper,
    MinimumCount,
    MonthWindow,
    PartitionedAssetTimetable,
    ProductMapper,
    QuarterWindow,
    RollupMapper,
    SegmentWindow,
    StartOfDayMapper,
    StartOfMonthMapper,
    StartOfQuarterMapper,
    StartOfWeekMapper,
    StartOfYearMapper,
    WaitForAll,
    WeekWindow,
    Window,
)
from trackflow.config import Settings
from trackflow.entities.assets import NewAssetEvent
from trackflow.entities.partition_mappers import downstream_keys, load_mapper
from trackflow.errors import InvalidInput
from trackflow.pipelines.scheduler import partition_runs
from trackflow.pipelines.scheduler.timetables import Restriction, deserialize_timetable
from trackflow.server.app import create_app
from trackflow.store.sql.asset_partitions import Arrival

CONSUMERS = ("per_hour", "daily_rollup", "regions_early", "daily_inference", "plain_on_readings")


# Pure ------------------------------------------------------------------------------------------
def test_temporal_mappers_key_like_airflow() -> None:
    key = "2024-03-13T10:42:15"
    assert StartOfDayMapper().to_downstream(key) == "2024-03-13"
    assert StartOfWeekMapper().to_downstream(key) == "2024-03-11 (W11)"
    assert StartOfMonthMapper().to_downstream(key) == "2024-03"
    assert StartOfQuarterMapper().to_downstream(key) == "2024-Q1"
    assert StartOfYearMapper().to_downstream(key) == "2024"
    assert StartOfQuarterMapper().to_partition_date("2024-Q1") == datetime(2024, 1, 1, tzinfo=UTC)
    assert ProductMapper(IdentityMapper(), StartOfDayMapper()).to_downstream("us|2026-06-14T03:00:00") == \
        "us|2026-06-14"
    with pytest.raises(InvalidInput, match="does not match"):
        StartOfDayMapper().to_downstream("yesterday")
    with pytest.raises(InvalidInput, match="segments"):
        ProductMapper(IdentityMapper(), StartOfDayMapper()).to_downstream("us")


def test_rollups_and_fan_outs_name_the_keys_airflow_names() -> None:
    week = FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())
    assert downstream_keys(week, "2025-01-01T00:00:00") == [f"2024-12-{d}" for d in (30, 31)] + \
        [f"2025-01-0{d}" for d in range(1, 6)]
    trailing = FanOutMapper(upstream_mapper=StartOfWeekMapper(),
                            window=WeekWindow(direction=Window.Direction.BACKWARD))
    assert downstream_keys(trailing, "2025-01-01T00:00:00")[0] == "2024-12-24"
    day = RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())
    assert day.to_downstream("2025-01-01T05:00:00") == "2025-01-01"
    assert day.to_upstream("2025-01-01") == {f"2025-01-01T{h:02d}:00:00" for h in range(24)}
    month = RollupMapper(upstream_mapper=StartOfMonthMapper(input_format="%Y-%m-%d"), window=MonthWindow())
    assert len(month.to_upstream("2024-02")) == 29 and "2024-02-29" in month.to_upstream("2024-02")
    quarter = RollupMapper(upstream_mapper=StartOfQuarterMapper(), window=QuarterWindow())
    assert quarter.to_upstream("2024-Q2") == {"2024-04-01T00:00:00", "2024-05-01T00:00:00", "2024-06-01T00:00:00"}
    with pytest.raises(InvalidInput, match="expects datetime"):
        RollupMapper(upstream_mapper=FixedKeyMapper("all"), window=DayWindow())
    with pytest.raises(InvalidInput, match="no default downstream_mapper"):
        FanOutMapper(upstream_mapper=IdentityMapper(), window=SegmentWindow(["a"]))
    with pytest.raises(InvalidInput, match="non-zero"):
        MinimumCount(0)
    assert MinimumCount(-1).satisfied(2, 3) and not MinimumCount(2).satisfied(1, 3) and WaitForAll().satisfied(3, 3)
    for mapper in (week, trailing, day, month, ProductMapper(IdentityMapper(), StartOfDayMapper(), delimiter="/")):
        again = load_mapper(json.loads(json.dumps(mapper.dump())))
        assert again.dump() == mapper.dump()


def test_a_partition_is_ready_when_its_condition_holds_over_the_assets_that_delivered_it() -> None:
    a, b = Asset("a"), Asset("b")
    regions = RollupMapper(upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["us", "eu", "apac"]))
    timetable = PartitionedAssetTimetable(assets=a & b, partition_mapper_config={b: regions})
    again = deserialize_timetable(timetable.serialize())
    assert isinstance(again, PartitionedAssetTimetable) and again.summary == "Partitioned Asset: a & b"
    arrivals = [Arrival("a", "all", 1), Arrival("b", "us", 2), Arrival("b", "eu", 3)]
    assert partition_runs.delivered(again, "all", arrivals) == {"a"}  # b's rollup lacks apac
    assert not partition_runs.ready(again, "all", arrivals)
    assert partition_runs.ready(again, "all", [*arrivals, Arrival("b", "apac", 4)])


def test_a_cron_partition_timetable_keys_each_run_by_its_tick() -> None:
    hourly = CronPartitionTimetable("15 * * * *", timezone="Asia/Taipei")
    restriction = Restriction(earliest=datetime(2025, 1, 1, tzinfo=UTC), latest=None, catchup=True)
    info = hourly.next_dagrun_info(None, restriction, datetime(2025, 1, 2, tzinfo=UTC))
    assert info is not None and info.logical_date == datetime(2025, 1, 1, 0, 15, tzinfo=UTC)
    assert info.partition_key == "2025-01-01T08:15:00"  # formatted in the timetable's time zone
    behind = CronPartitionTimetable("0 0 * * *", timezone="UTC", run_offset=-1, key_format="%Y-%m-%d")
    again = deserialize_timetable(behind.serialize())
    info = again.next_dagrun_info(None, restriction, datetime(2025, 1, 9, tzinfo=UTC))
    assert info is not None and info.partition_key == "2024-12-31"  # the day before the run
    with pytest.raises(InvalidInput, match="run_offset"):
        CronPartitionTimetable("0 0 * * *", timezone="UTC", run_offset=timedelta(days=1))  # type: ignore[arg-type]


# On real processes -------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "dags").mkdir()
    (tmp_path / "out").mkdir()
    shutil.copy(DAGS / "partitions.py", tmp_path / "dags" / "partitions.py")
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path / "out"))
    return Settings(home=str(tmp_path / "home"), dags_folder=str(tmp_path / "dags"))


def noted(tmp_path: Path, dag_id: str) -> list[dict[str, Any]]:
    path = tmp_path / "out" / f"{dag_id}.txt"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def settle(d: Deployment, expected: dict[str, int]) -> None:
    def done() -> bool:
        d.service.wake()
        runs = {dag_id: [r.state for r in d.pipelines.store.list_dag_runs(dag_id)] for dag_id in expected}
        return all(len(r) == expected[k] and set(r) <= {"success"} for k, r in runs.items())

    wait_for(done, f"runs {expected}")
    wait_for(lambda: not d.service.executor.running(), "task processes to exit")


def hours(day: str, span: range) -> list[str]:
    return [f"{day}T{h:02d}:00:00" for h in span]


def test_partitions_start_one_run_per_downstream_key(settings: Settings, tmp_path: Path) -> None:
    with deployment(settings, "local", FAST, dag_ids=("write_readings", *CONSUMERS)) as d:
        first = ["2025-01-01T00:00:00", "2025-01-01T00:30:00", "2025-01-01T01:00:00"]
        d.pipelines.trigger("write_readings", conf={"hours": first}, run_id="w1")
        assert d.run_to_end("write_readings", "w1") == "success"
        events = d.pipelines.assets.list_events("readings")
        assert sorted(e.partition_key or "" for e in events) == first
        settle(d, {"per_hour": 2, "daily_rollup": 0, "plain_on_readings": 0})
        by_key = {n["key"]: n for n in noted(tmp_path, "per_hour")}
        assert by_key["2025-01-01T00"] == {"key": "2025-01-01T00", "run_key": "2025-01-01T00",
                                           "date": "2025-01-01T00:00:00+00:00", "from": first[:2]}
        assert by_key["2025-01-01T01"]["from"] == first[2:]

        d.pipelines.trigger("write_readings", conf={"hours": hours("2025-01-01", range(2, 24))}, run_id="w2")
        assert d.run_to_end("write_readings", "w2") == "success"
        settle(d, {"per_hour": 24, "daily_rollup": 1, "plain_on_readings": 0})
        [day] = noted(tmp_path, "daily_rollup")
        assert day["key"] == "2025-01-01" and day["date"] == "2025-01-01T00:00:00+00:00" and len(day["from"]) == 25

        app = create_app(settings)
        with ThreadServer(app) as server:
            api = f"{server.url}/api/v1"
            for region in ("us", "eu"):
                sent = requests.post(f"{api}/assets/events", json={"name": "regional", "partition_key": region},
                                     timeout=30)
                assert sent.status_code == 200 and sent.json()["partition_key"] == region, sent.text
            settle(d, {"regions_early": 1})
            assert noted(tmp_path, "regions_early") == [{"key": "all", "run_key": "all", "date": None,
                                                         "from": ["eu", "us"]}]
            blank = requests.post(f"{api}/assets/events", json={"name": "regional", "partition_key": "  "}, timeout=30)
            assert blank.status_code == 400 and "partition key" in blank.json()["message"]

            env = {**os.environ, "TRACKFLOW_TRACKING_URI": server.url}
            cli = subprocess.run([sys.executable, "-m", "trackflow", "assets", "emit", "weekly_model",
                                  "--partition-key", "2025-01-01T00:00:00"], capture_output=True, text=True, env=env,
                                 timeout=60)
            assert cli.returncode == 0, cli.stderr
            settle(d, {"daily_inference": 7})
            days = sorted(n["key"] for n in noted(tmp_path, "daily_inference"))
            assert days == ["2024-12-30", "2024-12-31", *[f"2025-01-0{n}" for n in range(1, 6)]]
            run = d.pipelines.store.list_dag_runs("daily_inference")[0]
            detail = requests.get(f"{api}/dags/daily_inference/dagRuns/{run.run_id}", timeout=30).json()
            assert detail["partition_key"] == run.partition_key
            assert [e["partition_key"] for e in detail["triggering_asset_events"]] == ["2025-01-01T00:00:00"]
        app.state.services.db.dispose()

        # an unpartitioned event reaches the plain consumer only
        d.pipelines.assets.record_events([NewAssetEvent("readings", "readings", source="api")], datetime.now(UTC))
        settle(d, {"plain_on_readings": 1, "per_hour": 24})


def test_a_partition_starts_one_run_across_a_scheduler_restart(settings: Settings, tmp_path: Path) -> None:
    from trackflow.pipelines.operations import Pipelines

    with deployment(settings, "local", FAST, dag_ids=CONSUMERS):
        pass  # parsed and unpaused; the scheduler is gone now
    p = Pipelines(settings)
    p.assets.record_events([NewAssetEvent("readings", "readings", source="api",
                                          partition_key="2025-02-01T07:45:00")], datetime.now(UTC))
    assert p.store.list_dag_runs("per_hour") == []
    with deployment(settings, "local", FAST) as d:
        settle(d, {"per_hour": 1})
    with deployment(settings, "local", FAST) as d:  # again: the partition was taken with the run
        d.service.wake()
        wait_for(lambda: d.service.last_tick is not None, "a tick")
        d.service.wake()
        wait_for(lambda: not d.service.executor.running(), "idle")
        assert [r.partition_key for r in d.pipelines.store.list_dag_runs("per_hour")] == ["2025-02-01T07"]
    assert [n["key"] for n in noted(tmp_path, "per_hour")] == ["2025-02-01T07"]
