"""Task groups, @task_group, chain and default_args."""
from datetime import datetime

from trackflow import DAG, TaskGroup, chain, task
from trackflow.operators import EmptyOperator
from trackflow.pipelines.authoring import task_group

with DAG("groups", schedule=None, start_date=datetime(2025, 1, 1), default_args={"retries": 2}) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("extract", default_args={"retries": 5}) as extract:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        with TaskGroup("inner"):
            c = EmptyOperator(task_id="c")
        a >> c

    @task_group
    def process(value):
        @task
        def double(v):
            return v * 2

        @task
        def inc(v):
            return v + 1

        return inc(double(value))

    @task
    def finish(v):
        return v

    end = EmptyOperator(task_id="end")
    result = process(20)
    chain(start, extract, result, finish(result), end)
