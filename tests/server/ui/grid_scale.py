"""A DAG of 200 tasks (in task groups, one mapped) with 50 runs in a SQLite database: the
grid's scale case from issue 12, shared by its test and benchmarks/bench_ui.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trackflow.pipelines import runs as run_ops
from trackflow.pipelines.spec import DagSpec, TaskSpec
from trackflow.store.pipeline_base import Transition
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore

DAG_ID = "grid_scale"
TASKS = 200
RUNS = 50


def scale_spec(tasks: int = TASKS) -> DagSpec:
    """Ten groups of tasks in a chain; task 5 is mapped. Ids sort differently from DAG order."""
    specs = []
    for i in range(tasks):
        group = f"g{(tasks - i) % 10}"
        task_id = f"{group}.task_{tasks - i:03d}"
        upstream = (specs[-1].task_id,) if specs else ()
        specs.append(TaskSpec(task_id, "EmptyOperator", upstream=upstream, task_group=group, is_mapped=i == 5))
    linked = [TaskSpec(**{**t.to_dict(), "map_inputs": (),
                          "downstream": (specs[n + 1].task_id,) if n + 1 < len(specs) else ()})
              for n, t in enumerate(specs)]
    return DagSpec(DAG_ID, schedule=None, tasks=tuple(linked))


def build(db: Database, tasks: int = TASKS, runs: int = RUNS) -> DagSpec:
    """Record the DAG and ``runs`` runs whose task instances are all finished but the last run's."""
    store = SqlPipelineStore(db)
    spec = scale_spec(tasks)
    now = datetime(2025, 1, 1, tzinfo=UTC)
    store.sync_dags([spec.to_dict()], {}, None, now)
    for n in range(runs):
        run = run_ops.create_dag_run(store, None, spec, "manual", now, logical_date=now + timedelta(days=n),
                                     run_id=f"run_{n:03d}")
        if n < runs - 1:
            store.apply_transitions(DAG_ID, run.run_id, [
                Transition((t.task_id, -1), None, "success" if i % 7 else "failed")  # type: ignore[arg-type]
                for i, t in enumerate(spec.tasks)], now)
    return spec
