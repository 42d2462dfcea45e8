"""The task and asset state stores (tests/pipelines/test_state_store.py)."""
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import Asset, dag, task

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))
LAKE = Asset("lake_table")


@dag(schedule=None, start_date=datetime(2025, 1, 1), default_args={"retry_delay": timedelta(seconds=0)})
def state_store():
    @task(retries=2)
    def submit_once(task_state_store=None, ti=None):
        job = task_state_store.get("job_id")
        with open(OUT / "submits.jsonl", "a") as fh:
            fh.write(json.dumps({"try": ti.try_number, "found": job}) + "\n")
        if job is None:
            task_state_store.set("job_id", f"job-{ti.try_number}")
            task_state_store.set("short_lived", 1, retention=timedelta(seconds=-1))  # expired at once
            raise RuntimeError("lost the connection after submitting")
        assert task_state_store.get("short_lived", "gone") == "gone"
        task_state_store.delete("job_id")
        return job

    @task
    def per_index(i, task_state_store=None):
        assert task_state_store.get("mine") is None  # every map index has its own store
        task_state_store.set("mine", {"index": i})
        return task_state_store.get("mine")

    @task(outlets=[LAKE])
    def advance_watermark(asset_state_store=None):
        mark = asset_state_store.get("watermark", 0)
        asset_state_store.set("watermark", mark + 10)
        return mark + 10

    submit_once()
    per_index.expand(i=[1, 2, 3])
    advance_watermark()


state_store()
