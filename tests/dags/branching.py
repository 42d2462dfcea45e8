"""Classic-style branching and short-circuiting."""
from datetime import datetime

from trackflow import DAG, TriggerRule, task
from trackflow.operators import BranchPythonOperator, EmptyOperator, PythonOperator, ShortCircuitOperator

with DAG(dag_id="branching", schedule=None, start_date=datetime(2025, 1, 1)) as dag:
    start = EmptyOperator(task_id="start")
    choose = BranchPythonOperator(task_id="choose", python_callable=lambda: "left")
    left = PythonOperator(task_id="left", python_callable=lambda: "L")
    right = PythonOperator(task_id="right", python_callable=lambda: "R")
    after_right = EmptyOperator(task_id="after_right")
    join = EmptyOperator(task_id="join", trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    join_all_success = EmptyOperator(task_id="join_all_success")
    start >> choose >> [left, right]
    right >> after_right
    [left, after_right] >> join
    [left, after_right] >> join_all_success

    @task.branch
    def pick_many():
        return ["b1", "b2"]

    b1 = EmptyOperator(task_id="b1")
    b2 = EmptyOperator(task_id="b2")
    b3 = EmptyOperator(task_id="b3")
    pick_many() >> [b1, b2, b3]

    check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
    s1 = EmptyOperator(task_id="s1")
    s2 = EmptyOperator(task_id="s2", trigger_rule="all_done")
    check >> s1 >> s2

    soft = ShortCircuitOperator(task_id="soft_check", python_callable=lambda: 0,
                                ignore_downstream_trigger_rules=False)
    t1 = EmptyOperator(task_id="t1")
    t2 = EmptyOperator(task_id="t2", trigger_rule="all_done")
    soft >> t1 >> t2

    @task.short_circuit
    def go_on():
        return True

    after_go = EmptyOperator(task_id="after_go")
    go_on() >> after_go
