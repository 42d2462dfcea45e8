"""Every trigger rule downstream of one success, one failure and one skip."""
from datetime import datetime

from trackflow import DAG
from trackflow.operators import EmptyOperator, PythonOperator
from trackflow.pipelines.authoring import AirflowSkipException


def fail():
    raise ValueError("boom")


def skip():
    raise AirflowSkipException("nothing to do")


RULES = ["all_success", "all_failed", "all_done", "one_success", "one_failed", "none_failed",
         "none_skipped", "none_failed_min_one_success", "always", "all_skipped", "one_done"]

with DAG(dag_id="trigger_rules", schedule=None, start_date=datetime(2025, 1, 1)):
    ok = EmptyOperator(task_id="ok")
    bad = PythonOperator(task_id="bad", python_callable=fail)
    skipped = PythonOperator(task_id="skipped", python_callable=skip)
    for rule in RULES:
        # each rule sees: ok + bad, ok + skipped, bad + skipped, ok only
        [ok, bad] >> EmptyOperator(task_id=f"{rule}__ok_bad", trigger_rule=rule)
        [ok, skipped] >> EmptyOperator(task_id=f"{rule}__ok_skip", trigger_rule=rule)
        [bad, skipped] >> EmptyOperator(task_id=f"{rule}__bad_skip", trigger_rule=rule)
        ok >> EmptyOperator(task_id=f"{rule}__ok", trigger_rule=rule)
    # upstream_failed propagates through all_success chains
    bad >> EmptyOperator(task_id="chain1") >> EmptyOperator(task_id="chain2")
