"""A user's own timetable (Airflow's ``Timetable`` API) drives scheduled, manual and backfill
runs; the scheduler asks it in a child process and never imports it (tests/dags/custom_timetable.py)."""

from __future__ import annotations

import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import DAGS

from trackflow import DAG, DagRunInfo, DataInterval, Timetable
from trackflow.config import Settings
from trackflow.errors import InvalidInput
from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload, WorkloadKey
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler.loop import SchedulerLoop
from trackflow.pipelines.scheduler.timetables import CustomTimetable, Restriction


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class Idle(BaseExecutor):
    """Runs nothing: these tests look at the runs created, not at their tasks."""

    def queue_workload(self, workload: TaskWorkload) -> None:
        pass

    def poll(self) -> list[ExecutorEvent]:
        return []

    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        pass

    def running_tries(self) -> dict[WorkloadKey, str]:
        return {}


@pytest.fixture
def pipelines(home: Path, tmp_path: Path) -> Pipelines:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "custom_timetable.py", folder)
    p = Pipelines(Settings(home=str(home), dags_folder=str(folder)))
    p.sync_folder()
    return p


def loop_of(p: Pipelines) -> SchedulerLoop:
    return SchedulerLoop(p.store, Idle(), p.settings, "sqlite://", tracking=None)


def create_due(loop: SchedulerLoop, dag_id: str, now: datetime) -> None:
    loop.dag_hashes = loop.store.dag_hashes()
    loop.create_due_runs(now, {dag_id})


def test_the_scheduler_creates_the_runs_the_timetable_asks_for(pipelines: Pipelines) -> None:
    spec = pipelines.spec("weekdays_at_six")
    assert spec.timetable["kind"] == "custom" and spec.timetable["params"] == {"hour": 6}
    assert spec.schedule == "weekdays at 06:00"  # the timetable's summary
    pipelines.set_paused("weekdays_at_six", False)
    loop = loop_of(pipelines)
    create_due(loop, "weekdays_at_six", utc(2025, 1, 6, 5))  # Monday 05:00: the first run is not due yet
    assert pipelines.list_runs("weekdays_at_six") == []
    create_due(loop, "weekdays_at_six", utc(2025, 1, 20))
    runs = sorted(pipelines.list_runs("weekdays_at_six"), key=lambda r: r.logical_date)
    # from Friday 3 January 06:00 over the weekend, until end_date (8 January 00:00)
    assert [(r.data_interval_start, r.data_interval_end, r.run_after) for r in runs] == [
        (utc(2025, 1, 3, 6), utc(2025, 1, 6, 6), utc(2025, 1, 6, 6)),
        (utc(2025, 1, 6, 6), utc(2025, 1, 7, 6), utc(2025, 1, 7, 6)),
        (utc(2025, 1, 7, 6), utc(2025, 1, 8, 6), utc(2025, 1, 8, 6)),
    ]
    assert {r.run_type for r in runs} == {"scheduled"}
    assert [r.logical_date for r in runs] == [r.data_interval_start for r in runs]
    # the class was imported in child processes only
    assert not [name for name in sys.modules if name.endswith("custom_timetable")]


def test_the_answer_is_kept_until_a_run_is_made(pipelines: Pipelines) -> None:
    pipelines.set_paused("weekdays_at_six", False)
    loop = loop_of(pipelines)
    create_due(loop, "weekdays_at_six", utc(2025, 1, 6, 5))
    key, info, answered, _ = loop.custom_next["weekdays_at_six"]
    assert answered and info is not None and info.run_after == utc(2025, 1, 6, 6)
    loop.custom_next["weekdays_at_six"] = (key, None, True, utc(2025, 1, 6, 5))  # what it remembers is used
    create_due(loop, "weekdays_at_six", utc(2025, 1, 20))
    assert pipelines.list_runs("weekdays_at_six") == []


def test_a_manual_run_gets_the_interval_the_timetable_infers(pipelines: Pipelines) -> None:
    run = pipelines.trigger("weekdays_at_six", logical_date=utc(2025, 1, 4, 10, 30))
    assert (run.logical_date, run.data_interval_start, run.data_interval_end) == (
        utc(2025, 1, 4, 10, 30), utc(2025, 1, 4, 9), utc(2025, 1, 4, 10))


def test_a_backfill_makes_the_scheduled_runs_of_the_range(pipelines: Pipelines) -> None:
    assert pipelines.backfill_plan("weekdays_at_six", utc(2025, 1, 1), utc(2025, 1, 7, 6)) == [
        utc(2025, 1, 1, 6), utc(2025, 1, 2, 6), utc(2025, 1, 3, 6), utc(2025, 1, 6, 6), utc(2025, 1, 7, 6)]
    created = pipelines.create_backfill("weekdays_at_six", utc(2025, 1, 3), utc(2025, 1, 6, 6))
    assert [(r.data_interval_start, r.data_interval_end) for r in created] == [
        (utc(2025, 1, 3, 6), utc(2025, 1, 6, 6)), (utc(2025, 1, 6, 6), utc(2025, 1, 7, 6))]


def test_a_failing_timetable_costs_its_own_runs_only(pipelines: Pipelines) -> None:
    pipelines.set_paused("broken_timetable", False)
    pipelines.set_paused("weekdays_at_six", False)
    loop = loop_of(pipelines)
    loop.dag_hashes = loop.store.dag_hashes()
    loop.create_due_runs(utc(2025, 1, 20), {"broken_timetable", "weekdays_at_six"})
    assert pipelines.list_runs("broken_timetable") == []
    assert len(pipelines.list_runs("weekdays_at_six")) == 3
    assert loop.custom_next["broken_timetable"][2] is False  # asked again after CUSTOM_RETRY
    with pytest.raises(InvalidInput, match=r"^timetable Broken of .*custom_timetable\.py failed: RuntimeError: "
                                           r"no calendar today$"):
        pipelines.trigger("broken_timetable")


class EveryHours(Timetable):
    def __init__(self, hours: int = 1) -> None:
        self.hours = hours

    def serialize(self) -> dict[str, Any]:
        return {"hours": self.hours}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        return cls(data["hours"])

    def validate(self) -> None:
        if self.hours < 1:
            raise ValueError("hours must be >= 1")

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: Any) -> DagRunInfo | None:
        start = last_automated_data_interval.end if last_automated_data_interval else restriction.earliest
        return DagRunInfo.interval(start, start + timedelta(hours=self.hours))


def test_where_the_dag_file_is_loaded_the_object_itself_is_asked() -> None:
    dag = DAG("every_two_hours", schedule=EveryHours(2), start_date=datetime(2025, 1, 1))
    assert isinstance(dag.timetable, CustomTimetable) and dag.timetable.user is not None
    info = dag.timetable.next_run(utc(2025, 1, 1), (utc(2025, 1, 1), utc(2025, 1, 1, 2)),
                                  Restriction(utc(2025, 1, 1), None, True), utc(2025, 2, 1))
    assert info is not None and (info.logical_date, info.data_interval_end) == (utc(2025, 1, 1, 2), utc(2025, 1, 1, 4))


def test_a_timetable_may_limit_the_active_runs() -> None:
    class OneAtATime(EveryHours):
        active_runs_limit = 1

    assert DAG("one", schedule=OneAtATime(), start_date=datetime(2025, 1, 1)).max_active_runs == 1
    assert DAG("three", schedule=OneAtATime(), start_date=datetime(2025, 1, 1), max_active_runs=3).max_active_runs == 3
    assert DAG("default", schedule=EveryHours(), start_date=datetime(2025, 1, 1)).max_active_runs == 16


def test_a_timetable_is_validated_and_serialized_when_the_dag_is_defined() -> None:
    with pytest.raises(ValueError, match="hours must be >= 1"):
        DAG("bad_hours", schedule=EveryHours(0), start_date=datetime(2025, 1, 1))

    class Unserializable(EveryHours):
        def serialize(self) -> dict[str, Any]:
            return {"when": datetime(2025, 1, 1)}

    with pytest.raises(InvalidInput, match=r"Unserializable\.serialize\(\) returned .* JSON-serializable"):
        DAG("bad_params", schedule=Unserializable(), start_date=datetime(2025, 1, 1))


def test_a_naive_datetime_from_the_timetable_is_refused() -> None:
    class Naive(EveryHours):
        def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                             restriction: Any) -> DagRunInfo | None:
            return DagRunInfo.exact(datetime(2025, 1, 1))

    dag = DAG("naive", schedule=Naive(), start_date=datetime(2025, 1, 1))
    with pytest.raises(InvalidInput, match="must be an aware datetime"):
        dag.timetable.next_run(None, None, Restriction(utc(2025, 1, 1), None, True), utc(2025, 2, 1))


CALENDAR = '''
from datetime import timedelta

from airflow.plugins_manager import AirflowPlugin
from airflow.task.priority_strategy import PriorityWeightStrategy
from airflow.timetables.base import DagRunInfo, DataInterval, Timetable


class Hourly(Timetable):
    def infer_manual_data_interval(self, *, run_after):
        return DataInterval(run_after - timedelta(hours=1), run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        start = last_automated_data_interval.end if last_automated_data_interval else restriction.earliest
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, start + timedelta(hours=1))


class Heavy(PriorityWeightStrategy):
    def get_weight(self, ti):
        return 42


class CalendarPlugin(AirflowPlugin):
    name = "calendar"
    timetables = [Hourly]
    priority_weight_strategies = [Heavy]
'''

SHIMMED_DAG = '''
from datetime import datetime

from airflow.example_dags.helpers.calendar import Hourly
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("shimmed_calendar", schedule=Hourly(), start_date=datetime(2025, 1, 1), end_date=datetime(2025, 1, 1, 2),
         catchup=True):
    EmptyOperator(task_id="t", weight_rule="airflow.example_dags.helpers.calendar.Heavy")
'''


def test_with_the_shim_airflow_example_dags_is_the_dags_folder(home: Path, tmp_path: Path) -> None:
    """Airflow's examples import their plugins as ``airflow.example_dags.plugins.<module>``: with
    the import shim that is the module beside the DAG files, for the timetable (asked in a child
    process, which installs the shim too) and for a weight_rule given by its import path."""
    folder = tmp_path / "dags"
    (folder / "helpers").mkdir(parents=True)
    (folder / "helpers" / "calendar.py").write_text(CALENDAR)
    (folder / "shimmed_calendar.py").write_text(SHIMMED_DAG)
    p = Pipelines(Settings(home=str(home), dags_folder=str(folder), airflow_imports=True))
    p.sync_folder()
    assert p.import_errors() == []
    spec = p.spec("shimmed_calendar")
    assert (spec.timetable["module"], spec.timetable["airflow_imports"]) == ("airflow.example_dags.helpers.calendar",
                                                                             True)
    assert spec.task_map["t"].priority_weight == 42
    p.set_paused("shimmed_calendar", False)
    create_due(loop_of(p), "shimmed_calendar", utc(2025, 2, 1))
    assert sorted(r.logical_date for r in p.list_runs("shimmed_calendar")) == [
        utc(2025, 1, 1), utc(2025, 1, 1, 1), utc(2025, 1, 1, 2)]
    assert "airflow" not in sys.modules  # the shim was installed in child processes only
    plain = Pipelines(Settings(home=str(tmp_path / "plain"), dags_folder=str(folder)))
    plain.sync_folder()
    assert all("No module named 'airflow'" in e.stacktrace for e in plain.import_errors())
