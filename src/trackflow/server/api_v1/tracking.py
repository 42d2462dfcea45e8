"""/api/v1 routes for experiments and runs: the REST store's counterpart (same JSON codec)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from trackflow.entities import RunStatus, RunTag, ViewType
from trackflow.errors import InvalidInput, NotFound
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, INT64_MAX, INT64_MIN, Int64, returns
from trackflow.server.deps import get_services
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.store.rest import codec

router = APIRouter(tags=["tracking"], responses=ERROR_RESPONSES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyValue(_Body):
    key: str
    value: str


class Key(_Body):
    key: str


class CreateExperiment(_Body):
    name: str
    artifact_location: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class UpdateExperiment(_Body):
    name: str


class SearchExperiments(_Body):
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    filter: str | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


class CreateRun(_Body):
    experiment_id: str
    user_id: str = ""
    start_time: Int64 | None = None
    tags: list[KeyValue] = Field(default_factory=list)
    run_name: str | None = None


class UpdateRun(_Body):
    status: RunStatus | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class MetricIn(_Body):
    key: str
    value: float | str
    timestamp: Int64
    step: Int64 = 0


class Batch(_Body):
    metrics: list[MetricIn] = Field(default_factory=list)
    params: list[KeyValue] = Field(default_factory=list)
    tags: list[KeyValue] = Field(default_factory=list)


class DatasetIn(_Body):
    name: str
    digest: str
    source_type: str = ""
    source: str = ""
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class Inputs(_Body):
    datasets: list[DatasetIn]
    model_ids: list[str] = Field(default_factory=list)


class SearchRuns(_Body):
    experiment_ids: list[str]
    filter: str | None = None
    view_type: ViewType = ViewType.ACTIVE_ONLY
    max_results: Int64 = 1000
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


# Experiments -----------------------------------------------------------------------------
@router.post("/experiments", **returns(out.ExperimentIdOut))
def create_experiment(body: CreateExperiment, s: Services = Depends(get_services)) -> dict[str, Any]:
    return {"experiment_id": s.tracking.create_experiment(body.name, body.artifact_location, body.tags)}


@router.get("/experiments/by-name", **returns(out.ExperimentOut))
def get_experiment_by_name(name: str, s: Services = Depends(get_services)) -> dict[str, Any]:
    experiment = s.tracking.get_experiment_by_name(name)
    if experiment is None:
        raise NotFound(f"no experiment named {name!r}")
    return codec.experiment_to_json(experiment)


@router.post("/experiments/search", **returns(out.ExperimentsOut))
def search_experiments(body: SearchExperiments, s: Services = Depends(get_services)) -> dict[str, Any]:
    page = s.tracking.search_experiments(body.view_type, body.max_results, body.filter, body.order_by, body.page_token)
    return {"experiments": [codec.experiment_to_json(e) for e in page], "next_page_token": page.next_page_token}


@router.get("/experiments/{experiment_id}", **returns(out.ExperimentOut))
def get_experiment(experiment_id: str, s: Services = Depends(get_services)) -> dict[str, Any]:
    return codec.experiment_to_json(s.tracking.get_experiment(experiment_id))


@router.patch("/experiments/{experiment_id}", **returns(out.EmptyOut))
def rename_experiment(experiment_id: str, body: UpdateExperiment, s: Services = Depends(get_services)) -> dict:
    s.tracking.rename_experiment(experiment_id, body.name)
    return {}


@router.delete("/experiments/{experiment_id}", **returns(out.EmptyOut))
def delete_experiment(experiment_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_experiment(experiment_id)
    return {}


@router.post("/experiments/{experiment_id}/restore", **returns(out.EmptyOut))
def restore_experiment(experiment_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.restore_experiment(experiment_id)
    return {}


@router.post("/experiments/{experiment_id}/tags", **returns(out.EmptyOut))
def set_experiment_tag(experiment_id: str, body: KeyValue, s: Services = Depends(get_services)) -> dict:
    s.tracking.set_experiment_tag(experiment_id, body.key, body.value)
    return {}


@router.post("/experiments/{experiment_id}/tags/delete", **returns(out.EmptyOut))
def delete_experiment_tag(experiment_id: str, body: Key, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_experiment_tag(experiment_id, body.key)
    return {}


# Runs ------------------------------------------------------------------------------------
@router.post("/runs", **returns(out.RunOut))
def create_run(body: CreateRun, s: Services = Depends(get_services)) -> dict[str, Any]:
    tags = [RunTag(t.key, t.value) for t in body.tags]
    run = s.tracking.create_run(body.experiment_id, body.user_id, body.start_time, tags, body.run_name)
    return codec.run_to_json(run)


@router.post("/runs/search", **returns(out.RunsOut))
def search_runs(body: SearchRuns, s: Services = Depends(get_services)) -> JSONResponse:
    page = s.tracking.search_runs(
        body.experiment_ids, body.filter or "", body.view_type, body.max_results, body.order_by, body.page_token
    )
    # A JSONResponse skips FastAPI's jsonable_encoder walk, which costs more than the search itself.
    return JSONResponse({"runs": [codec.run_to_json(r) for r in page], "next_page_token": page.next_page_token})


@router.get("/runs/{run_id}", **returns(out.RunOut))
def get_run(run_id: str, s: Services = Depends(get_services)) -> dict[str, Any]:
    return codec.run_to_json(s.tracking.get_run(run_id))


@router.patch("/runs/{run_id}", **returns(out.RunInfoOut))
def update_run(run_id: str, body: UpdateRun, s: Services = Depends(get_services)) -> dict[str, Any]:
    return codec.run_info_to_json(s.tracking.update_run_info(run_id, body.status, body.end_time, body.run_name))


@router.delete("/runs/{run_id}", **returns(out.EmptyOut))
def delete_run(run_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_run(run_id)
    return {}


@router.post("/runs/{run_id}/restore", **returns(out.EmptyOut))
def restore_run(run_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.restore_run(run_id)
    return {}


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema with its ``$defs`` written in place: an operation's schema in the
    OpenAPI document cannot keep local ``#/$defs/...`` references (ReDoc refuses the whole
    document). The models inlined are not recursive."""
    defs = schema.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return dict(resolve(schema))


@router.post(
    "/runs/{run_id}/batch",
    openapi_extra={
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": inline_defs(Batch.model_json_schema())}}}
    },
    **returns(out.EmptyOut),
)
async def log_batch(run_id: str, request: Request, s: Services = Depends(get_services)) -> dict:
    """Log metrics, params and tags in one transaction (the body is a ``Batch``).

    The hot ingest path: the body is parsed with orjson and checked by ``codec.batch_from_json``
    rather than through pydantic models, which cost a third of a 1,000-metric batch."""
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"malformed JSON body: {exc}") from None
    metrics, params, tags = codec.batch_from_json(payload)
    await run_in_threadpool(s.tracking.log_batch, run_id, metrics, params, tags)
    return {}


@router.post("/runs/{run_id}/tags/delete", **returns(out.EmptyOut))
def delete_tag(run_id: str, body: Key, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_tag(run_id, body.key)
    return {}


@router.post("/runs/{run_id}/inputs", **returns(out.EmptyOut))
def log_inputs(run_id: str, body: Inputs, s: Services = Depends(get_services)) -> dict:
    datasets = [codec.dataset_from_json(d.model_dump(by_alias=True)) for d in body.datasets]
    s.tracking.log_inputs(run_id, datasets, body.model_ids)
    return {}


@router.get("/runs/{run_id}/metric-history", **returns(out.MetricHistoryOut))
def metric_history(
    run_id: str,
    key: str,
    max_results: int | None = Query(None, ge=INT64_MIN, le=INT64_MAX),
    page_token: str | None = None,
    s: Services = Depends(get_services),
) -> JSONResponse:
    page = s.tracking.get_metric_history(run_id, key, max_results, page_token)
    return JSONResponse({"metrics": [codec.metric_to_json(m) for m in page], "next_page_token": page.next_page_token})


# Garbage collection ----------------------------------------------------------------------
@router.get("/gc/deleted", **returns(out.DeletedOut))
def list_deleted(
    older_than_ms: int | None = Query(None, ge=0, le=INT64_MAX, description="deleted at least this long ago"),
    s: Services = Depends(get_services),
) -> dict[str, Any]:
    runs, experiments = s.tracking.list_deleted(older_than_ms)
    return {
        "runs": [codec.run_to_json(r) for r in runs],
        "experiments": [codec.experiment_to_json(e) for e in experiments],
    }


@router.delete("/gc/runs/{run_id}", **returns(out.EmptyOut))
def purge_run(run_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.purge_run(run_id)
    return {}


@router.delete("/gc/experiments/{experiment_id}", **returns(out.EmptyOut))
def purge_experiment(experiment_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.purge_experiment(experiment_id)
    return {}
