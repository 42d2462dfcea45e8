"""Data-aware scheduling: producers with asset outlets, consumers scheduled on assets (one,
all of two, either of two, and the registry's model alias). Bodies append to files in
TF_TEST_OUT so a test counts runs and sees what each one was given."""
import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import Asset, AssetAlias, asset, dag, task
from trackflow.pipelines.authoring.context import get_current_context

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))
RAW = Asset("s3://lake/raw.csv")
CLEAN = Asset(name="clean", uri="s3://lake/clean.parquet")
CHAMPION = Asset("model://iris@champion")


def note(name: str, data: object) -> None:
    with open(OUT / name, "a") as fh:
        fh.write(json.dumps(data) + "\n")


def seen() -> dict:
    """What the run was given: its triggering events, by asset name."""
    events = get_current_context()["triggering_asset_events"]
    return {asset.name: [{"extra": e.extra, "source_dag_id": e.source_dag_id, "source_task_id": e.source_task_id,
                          "source": e.source} for e in evs] for asset, evs in events.items()}


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def produce_raw():
    @task(outlets=[RAW])
    def extract() -> None:
        get_current_context()["outlet_events"][RAW].extra["rows"] = 3

    extract()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def produce_clean():
    @task(outlets=[CLEAN])
    def transform() -> None:
        pass

    @task(outlets=[RAW])
    def fails() -> None:
        raise RuntimeError("no event for a failed task")

    transform()
    fails()


@dag(schedule=[RAW], start_date=datetime(2025, 1, 1))
def on_raw():
    @task
    def consume() -> None:
        note("on_raw.txt", seen())

    consume()


@dag(schedule=RAW & CLEAN, start_date=datetime(2025, 1, 1))
def on_both():
    @task
    def consume() -> None:
        note("on_both.txt", seen())

    consume()


@dag(schedule=RAW | CLEAN, start_date=datetime(2025, 1, 1))
def on_either():
    @task
    def consume() -> None:
        note("on_either.txt", sorted(seen()))

    consume()


@dag(schedule=[CHAMPION], start_date=datetime(2025, 1, 1))
def deploy_champion():
    @task
    def deploy() -> None:
        note("deploy.txt", seen())

    deploy()


@dag(schedule=[Asset("experiment://iris-training")], start_date=datetime(2025, 1, 1))
def on_experiment():
    @task
    def compare() -> None:
        note("experiment.txt", seen())

    compare()


produce_raw()
produce_clean()
on_experiment()
on_raw()
on_both()
on_either()
deploy_champion()

PICKED = Asset("s3://lake/picked.csv")
DYNAMIC = AssetAlias("dynamic")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def produce_via_alias():
    @task(outlets=[DYNAMIC])
    def pick() -> None:  # the asset is chosen at run time, through the alias
        get_current_context()["outlet_events"][DYNAMIC].add(PICKED, extra={"picked": True})

    pick()


@dag(schedule=[DYNAMIC], start_date=datetime(2025, 1, 1))
def on_alias():
    @task
    def consume() -> None:
        note("on_alias.txt", seen())

    consume()


produce_via_alias()
on_alias()


@asset(schedule=None, uri="s3://lake/daily.parquet")
def daily_table(self, context):
    context["outlet_events"][self].extra["rows"] = 7
    return "written"


@asset(schedule=[daily_table])
def weekly_rollup(self, context, daily_table):
    note("weekly.txt", {"rows": context["inlet_events"][daily_table][-1].extra["rows"], "self": self.name,
                        "triggered_by": sorted(seen())})


@asset.multi(schedule=[weekly_rollup], outlets=[Asset("report_pdf"), Asset("report_csv")])
def publish_reports(context, weekly_rollup):
    context["outlet_events"][Asset("report_pdf")].extra["pages"] = 2


@dag(schedule=publish_reports, start_date=datetime(2025, 1, 1))
def on_reports():
    @task
    def read() -> None:
        note("reports.txt", sorted(seen()))

    read()


on_reports()
