"""``dags test``: one DAG run, right now, in this process, with the scheduler's semantics.

The DAG object is already imported here, so each task try is a fork of this process
(cheap). State goes through the pipeline store like any run (run_type "test"), so trigger
rules, retries with their delays, mapping, outputs, logs and tracking behave exactly as
under the scheduler.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trackflow.config import Settings, load_settings
from trackflow.entities.pipelines import TaskInstance
from trackflow.pipelines.authoring.dag import DAG
from trackflow.pipelines.authoring.serialize import serialize_dag
from trackflow.pipelines.executors.local import ForkExecutor
from trackflow.pipelines.runs import RunTracking, create_dag_run
from trackflow.pipelines.runtime import logs
from trackflow.pipelines.runtime.task_runner import open_db
from trackflow.pipelines.scheduler.loop import SchedulerLoop
from trackflow.pipelines.state import TIState
from trackflow.pipelines.triggers.triggerer import TriggererProcess
from trackflow.store.sql.pipeline_store import SqlPipelineStore


def pipeline_db_uri(settings: Settings) -> str:
    """Pipelines live in the tracking database; with a remote tracking server, in a local
    SQLite file under TRACKFLOW_HOME."""
    uri = settings.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        return f"sqlite:///{settings.home_path / 'pipelines.db'}"
    return uri


def _printer(echo: Callable[[str], Any], store: SqlPipelineStore, show_failed_logs: bool) -> Callable[..., None]:
    def on_state(ti: TaskInstance | None, state: str, note: str | None) -> None:
        stamp = datetime.now().strftime("%H:%M:%S.%f")[:-3]
        if ti is None:
            echo(f"[{stamp}] DAG run {note} -> {state}")
            return
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tries = f" (try {ti.try_number})" if ti.try_number else ""
        echo(f"[{stamp}] {name} -> {state}{tries}" + (f": {note}" if note else ""))
        if show_failed_logs and state in (TIState.FAILED, TIState.UP_FOR_RETRY):
            tries_rows = store.list_tries(ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
            if tries_rows and tries_rows[-1].log_path:
                text = logs.read_local(tries_rows[-1].log_path) or ""
                tail = "\n".join(text.rstrip().splitlines()[-25:])
                echo("    | " + tail.replace("\n", "\n    | "))

    return on_state


def test_dag(dag: DAG, logical_date: datetime | None = None, conf: dict[str, Any] | None = None,
             settings: Settings | None = None, echo: Callable[[str], Any] | None = None,
             run_id: str | None = None, show_failed_logs: bool = True) -> str:
    """Run one DAG run of ``dag`` to completion; return "success" or "failed".

    Raises InvalidInput (conf not matching params, invalid DAG) before anything runs.
    """
    settings = settings or load_settings()
    echo = echo or (lambda line: print(line, flush=True))
    spec = serialize_dag(dag)
    db_uri = pipeline_db_uri(settings)
    store = SqlPipelineStore(open_db(db_uri))
    store.warm_up(with_tracking=settings.resolved_tracking_uri == db_uri)
    now = datetime.now(UTC)
    store.sync_dags([spec.to_dict()], {}, None, now)
    tracking = RunTracking(settings)
    # As Airflow 3's `dags test`: a new run each time, named after now (not the logical date),
    # so testing the same date twice makes a second run instead of failing.
    logical = logical_date or now
    # the DAG is loaded in this process: a timetable of your own is asked here, not in a child
    info = dag.timetable.manual_info(logical if logical.tzinfo else logical.replace(tzinfo=UTC))
    run = create_dag_run(store, tracking, spec, "test", now, conf=conf, info=info,
                         run_id=run_id or f"manual__{now.isoformat()}")
    echo(f"DAG run {run.run_id} of {dag.dag_id} (logical date {run.logical_date.isoformat()})")
    executor = ForkExecutor(parallelism=settings.parallelism, dag=dag)
    # Deferred tasks of this run wait on their triggers in a triggerer of its own, started at the
    # first deferral (as Airflow's `dags test` runs the triggers itself).
    folder = os.path.dirname(os.path.abspath(dag.fileloc)) if dag.fileloc else settings.resolved_dags_folder
    triggerer = TriggererProcess(db_uri, folder, {**os.environ, **settings.to_environ()},
                                 only_run=(run.dag_id, run.run_id), poll=0.1)
    printer = _printer(echo, store, show_failed_logs)

    def on_state(ti: TaskInstance | None, state: str, note: str | None) -> None:
        if state == TIState.DEFERRED:
            triggerer.ensure()
        printer(ti, state, note)

    loop = SchedulerLoop(
        store, executor, settings, db_uri, tracking=tracking, heartbeat_interval=5.0, heartbeat_timeout=120.0,
        only_runs={(run.dag_id, run.run_id)}, schedule_runs=False,
        on_state=on_state,
    )
    try:
        state = loop.run_until_done(run.dag_id, run.run_id)
    except KeyboardInterrupt:
        for key in executor.running():
            executor.kill(key)
        raise
    finally:
        triggerer.stop()
    sys.stdout.flush()
    return state
