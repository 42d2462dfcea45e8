"""The web UI's test DAG: params of several JSON-schema types (the trigger form), nested task
groups (the graph), a mapped task (the grid's expandable rows) and a task that logs while it
waits for a file (the live log)."""
import os
import time
from datetime import datetime
from pathlib import Path

from trackflow import DAG, Param, TaskGroup, task
from trackflow.operators import EmptyOperator

RELEASE = Path(os.environ.get("TF_UI_RELEASE", "/tmp/tf-ui-release"))

with DAG(
    "ui_showcase",
    schedule="@daily",
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "count": Param(3, type="integer", minimum=1, maximum=10, description="how many items to map over"),
        "mode": Param("fast", enum=["fast", "thorough"]),
        "label": Param("demo", type="string", minLength=2),
        "dry_run": Param(False, type="boolean"),
    },
    tags=["ui"],
    is_paused_upon_creation=True,
) as dag:
    start = EmptyOperator(task_id="start")

    @task
    def items(params=None):
        return list(range(params["count"]))

    @task
    def square(x):
        return x * x

    with TaskGroup("prepare") as prepare:
        clean = EmptyOperator(task_id="clean")
        with TaskGroup("checks"):
            schema = EmptyOperator(task_id="schema")
        clean >> schema

    @task
    def wait_and_log():
        for n in range(600):
            print(f"waiting line {n}", flush=True)
            if RELEASE.exists():
                print("released", flush=True)
                return "done"
            time.sleep(0.2)
        raise RuntimeError("never released")

    @task
    def finish(values, waited):
        return sum(values)

    squares = square.expand(x=items())
    start >> prepare
    prepare >> squares
    finish(squares, wait_and_log())
