"""TriggerDagRunOperator: a controller starts runs of a target DAG (tests/pipelines/test_trigger_dagrun.py)."""
import json
import os
from datetime import datetime
from pathlib import Path

from trackflow import dag, task
from trackflow.operators import TriggerDagRunOperator

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def target_dag():
    @task
    def record(dag_run=None):
        with open(OUT / "target.jsonl", "a") as fh:
            fh.write(json.dumps({"run_id": dag_run.run_id, "conf": dag_run.conf}) + "\n")
        if dag_run.conf.get("fail"):
            raise RuntimeError("asked to fail")

    record()


target_dag()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def controller():
    waits = TriggerDagRunOperator(task_id="trigger_and_wait", trigger_dag_id="target_dag",
                                  trigger_run_id="from_controller_{{ run_id }}", conf={"message": "{{ run_id }}"},
                                  wait_for_completion=True, poke_interval=0.2)
    deferred = TriggerDagRunOperator(task_id="trigger_and_defer", trigger_dag_id="target_dag",
                                     trigger_run_id="deferred_{{ run_id }}", conf={"fail": True},
                                     wait_for_completion=True, poke_interval=0.2, deferrable=True)
    again = TriggerDagRunOperator(task_id="same_run_again", trigger_dag_id="target_dag",
                                  trigger_run_id="from_controller_{{ run_id }}")
    skip = TriggerDagRunOperator(task_id="same_run_skipped", trigger_dag_id="target_dag",
                                 trigger_run_id="from_controller_{{ run_id }}", skip_when_already_exists=True)
    reset = TriggerDagRunOperator(task_id="same_run_reset", trigger_dag_id="target_dag",
                                  trigger_run_id="from_controller_{{ run_id }}", reset_dag_run=True,
                                  wait_for_completion=True, poke_interval=0.2, trigger_rule="all_done")
    waits >> [again, skip] >> reset
    deferred


controller()
