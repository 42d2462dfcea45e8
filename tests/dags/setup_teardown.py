"""Setup and teardown tasks (tests/pipelines/test_setup_teardown.py): the teardown runs after
failed work with its setup's output; a teardown failure fails the run only when asked to."""
import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import dag, setup, task, teardown
from trackflow.operators import BashOperator

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def record(name: str, value: object) -> None:
    with open(OUT / "setup_teardown.jsonl", "a") as fh:
        fh.write(json.dumps({"name": name, "value": value}) + "\n")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def cluster_work():
    @setup
    def create_cluster():
        record("create", "cluster-1")
        return "cluster-1"

    @task
    def work(cluster):
        record("work", cluster)
        if (OUT / "fail_work").exists():
            raise ValueError("the work failed")

    @task
    def report():
        record("report", None)

    @teardown
    def delete_cluster(cluster):
        record("delete", cluster)

    cluster = create_cluster()
    with delete_cluster(cluster):
        work(cluster) >> report()


cluster_work()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def failing_teardowns():
    create = BashOperator(task_id="create", bash_command="echo create").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    ignored = BashOperator(task_id="ignored", bash_command="exit 1").as_teardown(setups=create)
    create >> work >> ignored


failing_teardowns()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def teardown_fails_the_run():
    create = BashOperator(task_id="create", bash_command="echo create").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    strict = BashOperator(task_id="strict", bash_command="exit 1").as_teardown(
        setups=create, on_failure_fail_dagrun=True)
    create >> work >> strict


teardown_fails_the_run()
