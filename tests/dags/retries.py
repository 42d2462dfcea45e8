"""A task that fails on its first two tries, a task that always fails, a timeout, callbacks."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import dag, task

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def note(name):
    def callback(context):
        with open(OUT / "callbacks.txt", "a") as fh:
            fh.write(f"{name}:{context['ti'].task_id}:{context['ti'].try_number}\n")
    return callback


@dag(schedule=None, start_date=datetime(2025, 1, 1),
     default_args={"retry_delay": timedelta(seconds=0.2)})
def retries():
    @task(retries=3, on_retry_callback=note("retry"), on_success_callback=note("success"))
    def flaky():
        marker = OUT / "flaky_tries.txt"
        tries = len(marker.read_text().splitlines()) if marker.exists() else 0
        with open(marker, "a") as fh:
            fh.write("try\n")
        if tries < 2:
            raise RuntimeError(f"failing try {tries + 1}")
        return tries + 1

    @task(retries=1, on_failure_callback=note("failure"))
    def always_fails():
        raise RuntimeError("always")

    @task(execution_timeout=timedelta(seconds=0.5), retries=0)
    def too_slow():
        time.sleep(30)

    @task(retries=2)
    def exits_hard():
        os._exit(3)

    flaky()
    always_fails()
    too_slow()
    exits_hard()


retries()
