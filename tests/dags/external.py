"""ExternalTaskSensor across two DAGs at one logical date (tests/pipelines/test_sensors.py)."""
import os
from datetime import datetime, timedelta

from trackflow import dag, task, task_group
from trackflow.sensors import ExternalTaskMarker, ExternalTaskSensor


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def upstream_daily():
    @task
    def load():
        if os.environ.get("TF_UPSTREAM_FAILS"):
            raise RuntimeError("load failed")
        return 1

    @task_group
    def publish():
        @task
        def copy():
            return 1

        @task_group
        def index():
            @task
            def build():
                return 2

            build()

        copy() >> index()

    loaded = load()
    loaded >> ExternalTaskMarker(task_id="marker", external_dag_id="downstream_daily", external_task_id="wait_load")
    loaded >> publish()


upstream_daily()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def downstream_daily():
    wait = ExternalTaskSensor(task_id="wait_load", external_dag_id="upstream_daily", external_task_id="load",
                              failed_states=["failed", "upstream_failed"], poke_interval=0.2, timeout=2,
                              mode="reschedule", soft_fail=bool(os.environ.get("TF_SOFT")))
    # times out well after wait_load, so that report is upstream_failed (a failed leaf) before a skip reaches it
    whole_run = ExternalTaskSensor(task_id="wait_run", external_dag_id="upstream_daily", poke_interval=0.2,
                                   timeout=5, execution_delta=timedelta(0), soft_fail=True)

    @task
    def report():
        return "upstream loaded"

    # every task of the group (nested ones too) must succeed
    group = ExternalTaskSensor(task_id="wait_group", external_dag_id="upstream_daily", external_task_group_id="publish",
                               failed_states=["failed", "upstream_failed"], poke_interval=0.2, timeout=2,
                               mode="reschedule", soft_fail=bool(os.environ.get("TF_SOFT")))

    [wait, whole_run, group] >> report()


downstream_daily()
