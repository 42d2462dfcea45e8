"""trackflow's own DAGs for setup and teardown tasks, written with Airflow's imports and
recorded with the real Airflow like its example DAGs: a failed teardown does not fail the run
unless on_failure_fail_dagrun, a failed setup stops the work and its teardown, and a teardown
runs after failed work."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup, setup, task, teardown

with DAG(dag_id="tf_teardown_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    create = BashOperator(task_id="create", bash_command="echo create").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    delete = BashOperator(task_id="delete", bash_command="exit 1").as_teardown(setups=create)
    create >> work >> delete

with DAG(dag_id="tf_teardown_fails_the_run", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    create = BashOperator(task_id="create", bash_command="echo create").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    delete = BashOperator(task_id="delete", bash_command="exit 1").as_teardown(
        setups=create, on_failure_fail_dagrun=True)
    create >> work >> delete

with DAG(dag_id="tf_setup_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    create = BashOperator(task_id="create", bash_command="exit 1").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    more_work = BashOperator(task_id="more_work", bash_command="echo more")
    delete = BashOperator(task_id="delete", bash_command="echo delete").as_teardown(setups=create)
    create >> work >> more_work >> delete

with DAG(dag_id="tf_work_fails", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):

    @setup
    def make_cluster():
        return "cluster-1"

    @task
    def use(cluster):
        raise ValueError(f"the work on {cluster} failed")

    @task
    def report():
        print("report")

    @teardown
    def drop_cluster(cluster):
        print(f"dropping {cluster}")

    cluster = make_cluster()
    with drop_cluster(cluster):
        use(cluster) >> report()

with DAG(dag_id="tf_indirect_setup", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    # "finish" runs after failed work (all_done), but not without its setup, two tasks up
    create = BashOperator(task_id="create", bash_command="exit 1").as_setup()
    work = BashOperator(task_id="work", bash_command="echo work")
    finish = BashOperator(task_id="finish", bash_command="echo finish", trigger_rule="all_done")
    delete = BashOperator(task_id="delete", bash_command="echo delete").as_teardown(setups=create)
    create >> work >> finish >> delete

with DAG(dag_id="tf_group_ends_with_teardown", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    # the task after the group waits for its work, not for its teardown (the group's leaves)
    with TaskGroup("cluster") as cluster:
        create = BashOperator(task_id="create", bash_command="echo create").as_setup()
        work = BashOperator(task_id="work", bash_command="echo work")
        delete = BashOperator(task_id="delete", bash_command="exit 1").as_teardown(setups=create)
        create >> work >> delete
    cluster >> BashOperator(task_id="after", bash_command="echo after")
