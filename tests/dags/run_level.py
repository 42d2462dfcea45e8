"""DAG-level settings: on_success/on_failure callbacks (with the run and a reason) and
dagrun_timeout. Callbacks append to files in TF_TEST_OUT."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import dag, task

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def record(context: dict) -> None:
    with open(OUT / "dag_callbacks.txt", "a") as fh:
        fh.write(f"{context['dag'].dag_id} {context['run_id']} {context['dag_run'].state} {context['reason']}\n")


@dag(schedule=None, start_date=datetime(2025, 1, 1), on_success_callback=record, on_failure_callback=record)
def callbacks_ok():
    @task
    def fine() -> None:
        pass

    fine()


@dag(schedule=None, start_date=datetime(2025, 1, 1), on_success_callback=record, on_failure_callback=[record])
def callbacks_fail():
    @task
    def broken() -> None:
        raise RuntimeError("boom")

    broken()


@dag(schedule=None, start_date=datetime(2025, 1, 1), dagrun_timeout=timedelta(seconds=2),
     on_failure_callback=record)
def times_out():
    @task
    def slow() -> None:
        time.sleep(60)

    @task
    def after() -> None:
        pass

    slow() >> after()


callbacks_ok()
callbacks_fail()
times_out()
