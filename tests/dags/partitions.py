"""Partitioned assets (Airflow 3.3): producers that write partitions, consumers scheduled on
them through mappers — per hour, a daily rollup of 24 hours, a region rollup that fires on 2
of 3, a weekly fan-out to 7 days — and a plain asset consumer, which partitioned events do not
start (as Airflow). Each consumer run appends its partition key and the keys of the events
that started it to TF_TEST_OUT/<dag_id>.txt."""
import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import (
    Asset,
    DayWindow,
    FanOutMapper,
    FixedKeyMapper,
    MinimumCount,
    PartitionedAssetTimetable,
    PartitionedAtRuntime,
    RollupMapper,
    SegmentWindow,
    StartOfDayMapper,
    StartOfHourMapper,
    StartOfWeekMapper,
    WeekWindow,
    dag,
    task,
)
from trackflow.pipelines.authoring.context import get_current_context

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))
READINGS = Asset("readings")
REGIONAL = Asset("regional")
WEEKLY = Asset("weekly_model")


def note_run() -> None:
    context = get_current_context()
    keys = sorted(e.partition_key for evs in context["triggering_asset_events"].values() for e in evs)
    date = context["partition_date"]
    with open(OUT / f"{context['dag'].dag_id}.txt", "a") as fh:
        fh.write(json.dumps({"key": context["partition_key"], "run_key": context["dag_run"].partition_key,
                             "date": date.isoformat() if date else None, "from": keys}) + "\n")


@dag(schedule=PartitionedAtRuntime(), start_date=datetime(2025, 1, 1))
def write_readings():
    @task(outlets=[READINGS])
    def write(dag_run=None, outlet_events=None) -> None:
        outlet_events[READINGS].add_partitions(dag_run.conf["hours"])

    write()


@dag(schedule=PartitionedAssetTimetable(assets=READINGS, default_partition_mapper=StartOfHourMapper()),
     start_date=datetime(2025, 1, 1))
def per_hour():
    @task
    def note() -> None:
        note_run()

    note()


@dag(schedule=PartitionedAssetTimetable(
    assets=READINGS, default_partition_mapper=RollupMapper(upstream_mapper=StartOfDayMapper(), window=DayWindow())),
    start_date=datetime(2025, 1, 1))
def daily_rollup():
    @task
    def note() -> None:
        note_run()

    note()


@dag(schedule=PartitionedAssetTimetable(assets=REGIONAL, default_partition_mapper=RollupMapper(
    upstream_mapper=FixedKeyMapper("all"), window=SegmentWindow(["us", "eu", "apac"]), wait_policy=MinimumCount(2))),
    start_date=datetime(2025, 1, 1))
def regions_early():
    @task
    def note() -> None:
        note_run()

    note()


@dag(schedule=PartitionedAssetTimetable(
    assets=WEEKLY, default_partition_mapper=FanOutMapper(upstream_mapper=StartOfWeekMapper(), window=WeekWindow())),
    start_date=datetime(2025, 1, 1))
def daily_inference():
    @task
    def note() -> None:
        note_run()

    note()


@dag(schedule=[READINGS], start_date=datetime(2025, 1, 1))
def plain_on_readings():
    @task
    def note() -> None:
        note_run()

    note()


write_readings()
per_hour()
daily_rollup()
regions_early()
daily_inference()
plain_on_readings()
