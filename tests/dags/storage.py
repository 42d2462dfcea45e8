"""A DAG for the disk-full fault test: a small value (kept in the database) and a large one
(written to the artifact store), each reaching a downstream task."""
import os
from datetime import datetime
from pathlib import Path

from trackflow import dag, task

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def note(name: str, line: str) -> None:
    with open(OUT / name, "a") as fh:
        fh.write(line + "\n")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def storage():
    @task
    def small() -> str:
        note("small.txt", "ran")
        return "ok"

    @task
    def big() -> bytes:
        note("big.txt", "ran")
        return os.urandom(1024 * 1024)  # 1 MiB: beyond the database's inline limit

    @task
    def after(a: str, b: bytes) -> None:
        note("after.txt", f"{a} {len(b)}")

    after(small(), big())


storage()
