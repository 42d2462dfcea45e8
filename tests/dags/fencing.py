"""DAGs of the double-run regression tests: a task cleared while it runs, and a task whose
success callback outlasts the scheduler's heartbeat timeout. Bodies append to files in
TF_TEST_OUT, so a test counts executions instead of measuring time."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import dag, task
from trackflow.pipelines.authoring.context import get_current_context

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def note(name: str, line: str) -> None:
    with open(OUT / name, "a") as fh:
        fh.write(line + "\n")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def clear_while_running():
    @task
    def body() -> str:
        try_number = get_current_context()["ti"].try_number
        note("fencing_body.txt", f"start {try_number}")
        if try_number == 1:
            # The first try waits to be cleared. Told to stop, it behaves badly on purpose:
            # it swallows the stop and returns a value anyway, which must be refused.
            try:
                for _ in range(600):
                    time.sleep(0.1)
            except BaseException as exc:  # noqa: B036 - the point of the test
                note("fencing_body.txt", f"stopped 1 {type(exc).__name__}")
        note("fencing_body.txt", f"return {try_number}")
        return f"value of try {try_number}"

    @task
    def after(value: str) -> None:
        note("fencing_after.txt", value)

    after(body())


def slow_success_callback(context: dict) -> None:
    note("callback.txt", "callback start")
    time.sleep(float(os.environ.get("TF_CALLBACK_SECONDS", "10")))
    note("callback.txt", "callback end")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def slow_callback():
    @task(retries=1, retry_delay=timedelta(seconds=0), on_success_callback=slow_success_callback)
    def once() -> str:
        note("slow_callback_body.txt", f"run {get_current_context()['ti'].try_number}")
        return "ok"

    once()


clear_while_running()
slow_callback()
