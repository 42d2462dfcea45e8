"""Mapped task groups (tests/pipelines/test_mapped_groups.py): each map index of a group runs
its tasks with its own arguments and values; a failure stays in its map index."""
import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import dag, get_current_context, task, task_group

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def record(name: str, value: object) -> None:
    with open(OUT / "mapped_groups.jsonl", "a") as fh:
        fh.write(json.dumps({"name": name, "value": value}) + "\n")


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def mapped_groups():
    @task
    def numbers():
        return [1, 2, 3]

    @task_group
    def per_number(n, prefix):
        @task(retries=0)
        def check(n):
            if n == 2:
                raise ValueError("two is not allowed")
            return n * 10

        @task
        def label(value, prefix):
            record("label", f"{prefix}{value}")
            return f"{prefix}{value}"

        @task(trigger_rule="all_done", map_index_template="{{ number_label }}")
        def cleanup(n, ti=None):
            record("cleanup", [ti.map_index, n])
            get_current_context()["number_label"] = f"number {n}"  # names this map index

        labelled = label(check(n), prefix)
        labelled >> cleanup(n)
        return labelled

    @task(trigger_rule="all_done")
    def collect(values):
        record("collect", values)

    collect(per_number.partial(prefix="n=").expand(n=numbers()))

    @task_group
    def pair(a, b):
        @task
        def add(a, b):
            return a + b

        return add(a, b)

    @task
    def total(first, second):
        record("total", [sorted(first), sorted(second)])

    total(pair.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}]),
          pair.expand(a=[100, 200], b=[1, 2]))  # the second call is group pair__1


mapped_groups()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def mapped_kwargs():
    """expand_kwargs on a task and on a classic operator: one task instance per dict."""
    from trackflow.operators import BashOperator

    @task
    def pairs():
        return [{"a": 1, "b": 2}, {"a": 5, "b": 5}]

    @task
    def add(a, b, scale):
        return (a + b) * scale

    @task
    def keep(values):
        record("sums", sorted(values))

    keep(add.partial(scale=10).expand_kwargs(pairs()))
    BashOperator.partial(task_id="shell").expand_kwargs([{"bash_command": "echo one"}, {"bash_command": "exit 99"}])


mapped_kwargs()
