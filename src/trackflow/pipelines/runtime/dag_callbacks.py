"""Runs a DAG's ``on_success_callback`` / ``on_failure_callback`` for one finished run, in a
process of its own (``python -m trackflow.pipelines.runtime.dag_callbacks DB_URI FILE DAG_ID
RUN_ID STATE REASON``): the scheduler never runs user code. Airflow's context for DAG callbacks:
``dag``, ``dag_run``, ``run_id``, ``logical_date``, ``reason`` ("success", "task_failure" or
"timed_out") and ``params``. A callback that raises is reported on stderr; the others still run."""

from __future__ import annotations

import sys
import traceback
from typing import Any

from trackflow.pipelines.authoring.context import set_current_context
from trackflow.pipelines.dagbag import load_dag
from trackflow.pipelines.state import RunState
from trackflow.store.sql.pipeline_store import SqlPipelineStore


def callbacks_of(dag: Any, state: str) -> list[Any]:
    value = dag.on_success_callback if state == RunState.SUCCESS else dag.on_failure_callback
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def main(argv: list[str]) -> int:
    db_uri, fileloc, dag_id, run_id, state, reason = argv
    from trackflow.config import load_settings
    from trackflow.pipelines.runtime.task_runner import open_db

    if load_settings().airflow_imports:
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.install()
    run = SqlPipelineStore(open_db(db_uri)).get_dag_run(dag_id, run_id)
    dag = load_dag(fileloc, dag_id)
    context = {"dag": dag, "dag_run": run, "run_id": run_id, "logical_date": run.logical_date, "reason": reason,
               "params": dict(run.conf), "conf": run.conf}
    code = 0
    with set_current_context(context):
        for callback in callbacks_of(dag, state):
            try:
                callback(context)
            except Exception:
                print(f"DAG {dag_id} run {run_id}: {getattr(callback, '__name__', callback)} raised:",
                      file=sys.stderr)
                traceback.print_exc()
                code = 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
