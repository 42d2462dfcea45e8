"""Branching on the day and time (on the run's logical date, so the outcome is fixed), and
LatestOnlyOperator."""

import datetime as dt

from trackflow import DAG
from trackflow.operators import (
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    EmptyOperator,
    LatestOnlyOperator,
    WeekDay,
)
from trackflow.sensors import DayOfWeekSensor

with DAG("time_branches", schedule="@daily", start_date=dt.datetime(2024, 1, 1), catchup=False):
    wednesday = BranchDayOfWeekOperator(task_id="is_wednesday", week_day="wednesday", use_task_logical_date=True,
                                        follow_task_ids_if_true="wed", follow_task_ids_if_false="not_wed")
    wednesday >> [EmptyOperator(task_id="wed"), EmptyOperator(task_id="not_wed")]
    weekend = BranchDayOfWeekOperator(task_id="is_weekend", week_day={WeekDay.SATURDAY, WeekDay.SUNDAY},
                                      use_task_logical_date=True, follow_task_ids_if_true=["weekend"],
                                      follow_task_ids_if_false=["weekday"])
    weekend >> [EmptyOperator(task_id="weekend"), EmptyOperator(task_id="weekday")]
    office = BranchDateTimeOperator(task_id="office_hours", target_lower=dt.time(9), target_upper=dt.time(17),
                                    use_task_logical_date=True, follow_task_ids_if_true="open",
                                    follow_task_ids_if_false="closed")
    office >> [EmptyOperator(task_id="open"), EmptyOperator(task_id="closed")]
    window = BranchDateTimeOperator(task_id="in_2024", target_lower=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
                                    target_upper=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), use_task_logical_date=True,
                                    follow_task_ids_if_true="was_2024", follow_task_ids_if_false="not_2024")
    window >> [EmptyOperator(task_id="was_2024"), EmptyOperator(task_id="not_2024")]
    DayOfWeekSensor(task_id="wait_wednesday", week_day=WeekDay.WEDNESDAY, use_task_logical_date=True,
                    poke_interval=0.2, timeout=1, soft_fail=True)
    DayOfWeekSensor(task_id="wait_monday", week_day="Monday", use_task_logical_date=True, poke_interval=0.2,
                    timeout=1, soft_fail=True)
    LatestOnlyOperator(task_id="latest_only") >> EmptyOperator(task_id="after_latest")
