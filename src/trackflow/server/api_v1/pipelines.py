"""/api/v1 routes for pipelines: DAGs, DAG runs, task instances, logs, lineage, pools.

Mounted by create_app under /api/v1. Routes call :class:`trackflow.pipelines.operations.Pipelines`
(the same functions as the CLI) and only translate to and from JSON.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities.pipelines import DagRecord, DagRun, ImportErrorRecord, TaskInstance
from trackflow.pipelines.operations import Pipelines, parse_date
from trackflow.pipelines.runtime.channel import to_wire
from trackflow.pipelines.spec import DagSpec
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, INT64_MAX, PARTITION_KEY, JsonObject, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services

router = APIRouter(tags=["pipelines"], responses=ERROR_RESPONSES)

# Keys under Services.extras: the shared Pipelines object, and the running PipelineService
# (if the server started one) so a trigger wakes the scheduler at once.
PIPELINES_KEY = "pipelines"
SERVICE_KEY = "pipeline_service"


def pipelines(s: Services = Depends(get_services)) -> Pipelines:
    ops = s.extras.get(PIPELINES_KEY)
    if ops is None:
        ops = s.extras[PIPELINES_KEY] = Pipelines(s.settings, s.db)
    return ops


def _wake(s: Services) -> None:
    service = s.extras.get(SERVICE_KEY)
    if service is not None:
        service.wake()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatchDag(_Body):
    is_paused: bool


class TriggerRun(_Body):
    conf: JsonObject = Field(default_factory=dict)
    logical_date: str | None = None
    run_id: str | None = None
    partition_key: str | None = PARTITION_KEY


class ClearRun(_Body):
    task_ids: list[str]
    include_downstream: bool = False
    include_upstream: bool = False


class ClearTask(_Body):
    include_downstream: bool = False
    include_upstream: bool = False
    map_index: int = Field(default=-1, ge=-1, le=INT64_MAX)


class MarkTask(_Body):
    state: str
    include_downstream: bool = False
    include_upstream: bool = False


class PutPool(_Body):
    slots: int = Field(ge=0, le=INT64_MAX)
    description: str = ""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def dag_json(record: DagRecord) -> dict[str, Any]:
    spec = record.spec
    return {
        "dag_id": record.dag_id,
        "fileloc": record.fileloc,
        "is_paused": record.is_paused,
        "is_active": record.is_active,
        "last_parsed": _iso(record.last_parsed),
        "description": spec.get("description"),
        "schedule": spec.get("schedule"),
        "timezone": spec.get("timezone"),
        "start_date": spec.get("start_date"),
        "end_date": spec.get("end_date"),
        "catchup": spec.get("catchup"),
        "max_active_runs": spec.get("max_active_runs"),
        "max_active_tasks": spec.get("max_active_tasks"),
        "tags": spec.get("tags", []),
        "owners": spec.get("owners", []),
        "task_count": len(spec.get("tasks", [])),
    }


def dag_detail_json(record: DagRecord) -> dict[str, Any]:
    spec = DagSpec.from_dict(record.spec)
    tasks = [
        {
            "task_id": t.task_id, "operator": t.operator, "trigger_rule": t.trigger_rule, "retries": t.retries,
            "retry_delay": t.retry_delay, "execution_timeout": t.execution_timeout, "pool": t.pool,
            "priority_weight": t.priority_weight, "is_mapped": t.is_mapped, "task_group": t.task_group,
            "mapped_group": t.mapped_group, "is_setup": t.is_setup, "is_teardown": t.is_teardown,
            "upstream": list(t.upstream), "downstream": list(t.downstream), "doc": t.doc,
        }
        for t in spec.tasks
    ]
    return {**dag_json(record), "params": spec.params, "doc_md": spec.doc_md, "tasks": tasks,
            "edges": [{"source": a, "target": b} for a, b in spec.edges]}


def error_json(error: ImportErrorRecord) -> dict[str, Any]:
    return {"fileloc": error.fileloc, "stacktrace": error.stacktrace, "timestamp": _iso(error.timestamp)}


def run_json(run: DagRun) -> dict[str, Any]:
    return {
        "dag_id": run.dag_id, "run_id": run.run_id, "state": run.state, "run_type": run.run_type,
        "logical_date": _iso(run.logical_date), "data_interval_start": _iso(run.data_interval_start),
        "data_interval_end": _iso(run.data_interval_end), "run_after": _iso(run.run_after), "conf": run.conf,
        "queued_at": _iso(run.queued_at), "start_date": _iso(run.start_date), "end_date": _iso(run.end_date),
        "tracking_run_id": run.tracking_run_id, "experiment_id": run.experiment_id,
        "partition_key": run.partition_key, "partition_date": _iso(run.partition_date),
    }


def ti_json(ti: TaskInstance) -> dict[str, Any]:
    return {
        "task_id": ti.task_id, "map_index": ti.map_index, "state": ti.state, "try_number": ti.try_number,
        "max_tries": ti.max_tries, "start_date": _iso(ti.start_date), "end_date": _iso(ti.end_date),
        "duration": ti.duration, "queued_at": _iso(ti.queued_at), "pool": ti.pool,
        "priority_weight": ti.priority_weight, "operator": ti.operator, "hostname": ti.hostname, "pid": ti.pid,
        "tracking_run_id": ti.tracking_run_id, "next_retry_at": _iso(ti.next_retry_at), "note": ti.note,
        "rendered_map_index": ti.rendered_map_index,
    }


# DAGs --------------------------------------------------------------------------------------------
@router.get("/dags", **returns(out.DagsOut))
def list_dags(p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Active DAGs and the import errors of DAG files that failed to load."""
    return {"dags": [dag_json(r) for r in p.list_dags()],
            "import_errors": [error_json(e) for e in p.import_errors()]}


@router.get("/importErrors", **returns(out.ImportErrorsOut))
def list_import_errors(p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    return {"import_errors": [error_json(e) for e in p.import_errors()]}


@router.get("/dags/{dag_id}", **returns(out.DagDetailOut))
def get_dag(dag_id: str, p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """A DAG with its tasks and edges."""
    return dag_detail_json(p.get_dag(dag_id))


@router.patch("/dags/{dag_id}", **returns(out.DagOut))
def patch_dag(dag_id: str, body: PatchDag, s: Services = Depends(get_services),
              p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Pause or unpause."""
    record = p.set_paused(dag_id, body.is_paused)
    _wake(s)
    return dag_json(record)


# DAG runs ----------------------------------------------------------------------------------------
@router.post("/dags/{dag_id}/dagRuns", **returns(out.DagRunOut))
def trigger_run(dag_id: str, body: TriggerRun, s: Services = Depends(get_services),
                p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Trigger a run; ``conf`` is validated against the DAG's params (400 naming the param)."""
    date = parse_date(body.logical_date, "logical_date") if body.logical_date else None
    run = p.trigger(dag_id, body.conf, date, body.run_id, body.partition_key)
    _wake(s)
    return run_json(run)


@router.get("/dags/{dag_id}/dagRuns", **returns(out.DagRunsOut))
def list_runs(dag_id: str, state: str | None = None, limit: int = Query(100, ge=1, le=10_000),
              offset: int = Query(0, ge=0, le=INT64_MAX), p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    return {"dag_runs": [run_json(r) for r in p.list_runs(dag_id, state, limit, offset)]}


@router.get("/dags/{dag_id}/dagRuns/{run_id}", **returns(out.DagRunDetailOut))
def get_run(dag_id: str, run_id: str, p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """A run with its task instances (state, try, start/end times)."""
    detail = p.run_detail(dag_id, run_id)
    return {**run_json(detail.run), "task_instances": [ti_json(t) for t in detail.task_instances],
            "triggering_asset_events": [to_wire(e) for e in p.assets.run_events(dag_id, run_id)]}


@router.post("/dags/{dag_id}/dagRuns/{run_id}/clear", **returns(out.ClearedOut))
def clear_run(dag_id: str, run_id: str, body: ClearRun, s: Services = Depends(get_services),
              p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    cleared = p.clear(dag_id, run_id, body.task_ids, body.include_downstream, body.include_upstream)
    _wake(s)
    return {"cleared": cleared}


@router.get("/dags/{dag_id}/dagRuns/{run_id}/lineage", **returns(out.RunLineageOut))
def run_lineage(dag_id: str, run_id: str, p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Which task's value each task consumed."""
    p.store.get_dag_run(dag_id, run_id)
    return {"edges": [
        {"producer_task_id": e.producer_task_id, "producer_map_index": e.producer_map_index, "key": e.key,
         "consumer_task_id": e.consumer_task_id, "consumer_map_index": e.consumer_map_index}
        for e in p.store.get_lineage(dag_id, run_id)]}


# Task instances ----------------------------------------------------------------------------------
@router.post("/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/clear", **returns(out.ClearedOut))
def clear_task(dag_id: str, run_id: str, task_id: str, body: ClearTask, s: Services = Depends(get_services),
               p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    cleared = p.clear(dag_id, run_id, [task_id], body.include_downstream, body.include_upstream)
    _wake(s)
    return {"cleared": cleared}


@router.patch("/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}", **returns(out.MarkedOut))
def mark_task(dag_id: str, run_id: str, task_id: str, body: MarkTask, s: Services = Depends(get_services),
              p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Mark success / failed / skipped (optionally with everything downstream and/or upstream)."""
    marked = p.mark(dag_id, run_id, [task_id], body.state, body.include_downstream, body.include_upstream)
    _wake(s)
    return {"marked": marked, "state": body.state}


@router.get("/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs", **returns(out.TaskLogOut))
def task_logs(dag_id: str, run_id: str, task_id: str, try_number: int | None = Query(None, ge=1, le=INT64_MAX),
              map_index: int = Query(-1, ge=-1, le=INT64_MAX), offset: int = Query(0, ge=0, le=INT64_MAX),
              p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """The log of a try (the latest by default); readable while the task runs. ``content``
    starts at character ``offset``; poll again with ``next_offset`` for what was written since."""
    chosen, text = p.read_log(dag_id, run_id, task_id, map_index, try_number)
    return {"task_id": task_id, "map_index": map_index, "try_number": chosen.try_number, "state": chosen.state,
            "content": text[offset:], "next_offset": max(offset, len(text))}


# Pools -------------------------------------------------------------------------------------------
@router.get("/pools", **returns(out.PoolsOut))
def list_pools(p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    return {"pools": [{"name": x.name, "slots": x.slots, "description": x.description, "occupied": x.occupied}
                      for x in p.store.list_pools()]}


@router.put("/pools/{name}", **returns(out.PoolOut))
def put_pool(name: str, body: PutPool, p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    pool = p.store.set_pool(name, body.slots, body.description)
    return {"name": pool.name, "slots": pool.slots, "description": pool.description}
