"""Dynamic task mapping over literals and upstream results."""
from datetime import datetime

from trackflow import dag, task
from trackflow.operators import BashOperator


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def mapping():
    @task
    def make_list():
        return [1, 2, 3, 4]

    @task
    def add(x, y):
        return x + y

    @task
    def total(values):
        return sum(values)

    @task
    def empty():
        return []

    added = add.partial(y=10).expand(x=make_list())
    total(added)
    pairs = add.expand(x=[1, 2], y=[100, 200])
    total.override(task_id="total_pairs")(pairs)
    skipped_map = add.partial(y=1).expand(x=empty())
    total.override(task_id="after_empty")(skipped_map)
    BashOperator.partial(task_id="echo").expand(bash_command=["echo one", "echo two"])


mapping()
