"""DAGs of the fault tests: a task held mid-body until the test drops a `release` file in
TF_TEST_OUT (so a process can be killed while it surely runs), and a value passed downstream.
Bodies append to files, so a test counts executions instead of measuring time."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil

from trackflow import dag, task
from trackflow.pipelines.authoring.context import get_current_context

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def note(name: str, line: str) -> None:
    with open(OUT / name, "a") as fh:
        fh.write(line + "\n")


def hold(name: str) -> int:
    try_number = get_current_context()["ti"].try_number
    # the pid of the process that forked this one's parent: a Celery worker's main process
    note(f"{name}.txt", f"start {try_number} {psutil.Process(os.getppid()).ppid()}")
    while not (OUT / "release").exists():
        time.sleep(0.05)
    note(f"{name}.txt", f"end {try_number}")
    return try_number


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def held():
    @task(retries=1, retry_delay=timedelta(seconds=0))
    def body() -> int:
        return hold("body")

    @task
    def after(value: int) -> None:
        note("after.txt", str(value))

    after(body())


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def held_pair():
    @task
    def first() -> int:
        return hold("first")

    @task
    def second() -> int:
        return hold("second")

    first()
    second()


held()
held_pair()
