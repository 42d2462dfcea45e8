"""A slow task that records every execution (crash-recovery tests)."""
import os
import time
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import dag, task

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


@dag(schedule=None, start_date=datetime(2025, 1, 1), default_args={"retry_delay": timedelta(seconds=0)})
def slow_once():
    @task(retries=1)
    def slow():
        with open(OUT / "slow_runs.txt", "a") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(float(os.environ.get("TF_SLOW_SECONDS", "4")))
        return "done"

    @task
    def after(value):
        return value + "!"

    after(slow())


slow_once()
