"""/api/v1 routes for logged models (MLflow 3's LoggedModel): the REST store's counterpart."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities import DatasetFilter, LoggedModelOrder, LoggedModelStatus, ModelOutput
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, Int64, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.rest.logged_model_codec import logged_model_to_json

router = APIRouter(tags=["logged models"], responses=ERROR_RESPONSES)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateLoggedModel(_Body):
    experiment_id: str
    name: str | None = None
    source_run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    params: dict[str, str] = Field(default_factory=dict)
    model_type: str | None = None


class Finalize(_Body):
    status: LoggedModelStatus


class Tags(_Body):
    tags: dict[str, str]


class Key(_Body):
    key: str


class Params(_Body):
    params: dict[str, str]


class DatasetFilterIn(_Body):
    dataset_name: str
    dataset_digest: str | None = None


class OrderIn(_Body):
    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LoggedModelSearch(_Body):
    experiment_ids: list[str]
    filter: str | None = None
    datasets: list[DatasetFilterIn] = Field(default_factory=list)
    max_results: int | None = Field(default=None, ge=1, le=50_000)
    order_by: list[OrderIn] = Field(default_factory=list)
    page_token: str | None = None


class OutputIn(_Body):
    model_id: str
    step: Int64 = 0


class Outputs(_Body):
    models: list[OutputIn]


@router.post("/logged-models", **returns(out.LoggedModelOut))
def create_logged_model(body: CreateLoggedModel, s: Services = Depends(get_services)) -> dict[str, Any]:
    model = s.tracking.create_logged_model(
        body.experiment_id, body.name, body.source_run_id, body.tags, body.params, body.model_type
    )
    return logged_model_to_json(model)


@router.post("/logged-models/search", **returns(out.LoggedModelsOut))
def search_logged_models(body: LoggedModelSearch, s: Services = Depends(get_services)) -> dict[str, Any]:
    page = s.tracking.search_logged_models(
        body.experiment_ids,
        body.filter,
        [DatasetFilter(d.dataset_name, d.dataset_digest) for d in body.datasets],
        body.max_results,
        [LoggedModelOrder(o.field_name, o.ascending, o.dataset_name, o.dataset_digest) for o in body.order_by],
        body.page_token,
    )
    return {"models": [logged_model_to_json(m) for m in page], "next_page_token": page.next_page_token}


@router.get("/logged-models/{model_id}", **returns(out.LoggedModelOut))
def get_logged_model(model_id: str, allow_deleted: bool = False, s: Services = Depends(get_services)) -> dict:
    return logged_model_to_json(s.tracking.get_logged_model(model_id, allow_deleted))


@router.delete("/logged-models/{model_id}", **returns(out.EmptyOut))
def delete_logged_model(model_id: str, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_logged_model(model_id)
    return {}


@router.post("/logged-models/{model_id}/finalize", **returns(out.LoggedModelOut))
def finalize_logged_model(model_id: str, body: Finalize, s: Services = Depends(get_services)) -> dict[str, Any]:
    return logged_model_to_json(s.tracking.finalize_logged_model(model_id, body.status))


@router.post("/logged-models/{model_id}/tags", **returns(out.EmptyOut))
def set_logged_model_tags(model_id: str, body: Tags, s: Services = Depends(get_services)) -> dict:
    s.tracking.set_logged_model_tags(model_id, body.tags)
    return {}


@router.post("/logged-models/{model_id}/tags/delete", **returns(out.EmptyOut))
def delete_logged_model_tag(model_id: str, body: Key, s: Services = Depends(get_services)) -> dict:
    s.tracking.delete_logged_model_tag(model_id, body.key)
    return {}


@router.post("/logged-models/{model_id}/params", **returns(out.EmptyOut))
def log_logged_model_params(model_id: str, body: Params, s: Services = Depends(get_services)) -> dict:
    s.tracking.log_logged_model_params(model_id, body.params)
    return {}


@router.post("/runs/{run_id}/outputs", **returns(out.EmptyOut))
def log_outputs(run_id: str, body: Outputs, s: Services = Depends(get_services)) -> dict:
    s.tracking.log_outputs(run_id, [ModelOutput(m.model_id, m.step) for m in body.models])
    return {}
