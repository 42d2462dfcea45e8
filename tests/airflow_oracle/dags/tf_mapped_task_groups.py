"""trackflow's own DAGs for mapped task groups, written with Airflow's imports and recorded with
the real Airflow like its example DAGs: the groups' map indexes, arguments, per-index XCom and
trigger rules, the collected output downstream, and group ids suffixed ``__1`` on a second call."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, task, task_group

with DAG(dag_id="tf_mapped_group_failures", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def numbers():
        return [1, 2, 3]

    @task_group
    def per_number(n, label):
        @task
        def check(n):
            if n == 2:
                raise ValueError("two is not allowed")
            return n * 10

        @task
        def describe(value, label):
            return f"{label}{value}"

        @task(trigger_rule="all_done")
        def always(n):
            return n

        described = describe(check(n), label)
        described >> always(n)
        return described

    @task
    def collect(values):
        print(values)

    collect(per_number.partial(label="n=").expand(n=numbers()))

with DAG(dag_id="tf_mapped_group_kwargs", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task_group
    def pair(a, b):
        @task
        def add(a, b):
            return a + b

        @task
        def double(x):
            return x * 2

        return double(add(a, b))

    @task
    def total(values):
        if sorted(values) != [6, 14]:
            raise ValueError(f"expected the doubled sums [6, 14], got {values}")

    total(pair.expand_kwargs([{"a": 1, "b": 2}, {"a": 3, "b": 4}]))

    @task
    def more_pairs():
        return [{"a": 10, "b": 1}, {"a": 20, "b": 2}, {"a": 30, "b": 3}]

    @task
    def check_more(values):
        if sorted(values) != [22, 44, 66]:
            raise ValueError(f"expected [22, 44, 66], got {values}")

    check_more(pair.expand_kwargs(more_pairs()))  # the second call: group id pair__1

with DAG(dag_id="tf_mapped_group_empty", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task
    def nothing():
        return []

    @task_group
    def each(item):
        @task
        def first(item):
            return item

        @task
        def second(item):
            return item

        return second(first(item))

    @task(trigger_rule="none_failed")
    def after(values):
        print(values)

    after(each.expand(item=nothing()))

with DAG(dag_id="tf_mapped_group_branch", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @task_group
    def route(n):
        @task.branch
        def choose(n):
            return "route.even" if n % 2 == 0 else "route.odd"

        @task
        def even(n):
            return n

        @task
        def odd(n):
            return n

        choose(n) >> [even(n), odd(n)]

    route.expand(n=[1, 2, 3])

    @task_group
    def gate(n):
        @task.short_circuit
        def keep(n):
            return n != 2

        @task
        def use(n):
            return n

        keep(n) >> use(n)

    gate.expand(n=[1, 2, 3])
