"""Branching on the week day and the time (BranchDayOfWeekOperator, BranchDateTimeOperator,
DayOfWeekSensor — on the run's logical date here, so the outcome is fixed) and
LatestOnlyOperator: a manual run proceeds, a run of an interval long past skips its
downstream tasks."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest
from pipeline_helpers import CLI, DAGS

from trackflow.errors import InvalidInput
from trackflow.operators import BranchDateTimeOperator, WeekDay
from trackflow.pipelines.authoring.branch_operators import target_times_as_dates


def states(home: Path, run_type: str) -> dict[str, str]:
    with sqlite3.connect(home / "trackflow.db") as conn:
        [run_id] = conn.execute("SELECT run_id FROM pl_dag_runs WHERE dag_id = 'time_branches' AND run_type = ?",
                                (run_type,)).fetchone()
        return dict(conn.execute("SELECT task_id, state FROM pl_task_instances WHERE run_id = ?", (run_id,)))


def test_branches_on_the_logical_date(cli: CLI, home: Path, tmp_path: Path) -> None:
    shutil.copy(DAGS / "time_branches.py", tmp_path / "time_branches.py")
    # 2025-01-01 12:00 UTC is a Wednesday, at noon, after 2024
    proc = cli("dags", "test", "time_branches", "--logical-date", "2025-01-01T12:00:00+00:00",
               "--dags-folder", str(tmp_path / "time_branches.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert states(home, "test") == {
        "is_wednesday": "success", "wed": "success", "not_wed": "skipped",
        "is_weekend": "success", "weekend": "skipped", "weekday": "success",
        "office_hours": "success", "open": "success", "closed": "skipped",
        "in_2024": "success", "was_2024": "skipped", "not_2024": "success",
        "wait_wednesday": "success", "wait_monday": "skipped",
        "latest_only": "success", "after_latest": "success",  # not a scheduled run: it proceeds
    }


def test_latest_only_skips_a_run_of_a_past_interval(cli: CLI, home: Path, tmp_path: Path) -> None:
    shutil.copy(DAGS / "time_branches.py", tmp_path / "time_branches.py")
    proc = cli("dags", "backfill", "time_branches", "-s", "2024-06-03", "-e", "2024-06-03",
               "--dags-folder", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    found = states(home, "backfill")
    assert (found["latest_only"], found["after_latest"]) == ("success", "skipped")
    assert (found["wed"], found["not_wed"]) == ("skipped", "success")  # 2024-06-03 was a Monday
    assert (found["wait_wednesday"], found["wait_monday"]) == ("skipped", "success")


def test_inputs_are_checked() -> None:
    with pytest.raises(InvalidInput, match="invalid week day"):
        WeekDay.validate_week_day({"Funday"})
    with pytest.raises(InvalidInput, match="week_day must be"):
        WeekDay.validate_week_day(3)
    with pytest.raises(InvalidInput, match="both None"):
        BranchDateTimeOperator(task_id="b", target_lower=None, target_upper=None, follow_task_ids_if_true="a",
                               follow_task_ids_if_false="c")
    with pytest.raises(InvalidInput, match="datetime or a time"):
        BranchDateTimeOperator(task_id="b", target_lower="09:00", target_upper=None, follow_task_ids_if_true="a",
                               follow_task_ids_if_false="c")
    # a window across midnight: the upper time is on the next day (as Airflow)
    base = dt.datetime(2025, 1, 1, 23, 30)
    assert target_times_as_dates(base, dt.time(23), dt.time(1)) == (dt.datetime(2025, 1, 1, 23),
                                                                    dt.datetime(2025, 1, 2, 1))
