"""/api/v1 routes of the model registry: the REST registry store's counterpart."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from trackflow.errors import InvalidInput, NotFound
from trackflow.registry.lineage import lineage_of
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import (
    ERROR_RESPONSES,
    INT64_MAX,
    INT64_MIN,
    Int64,
    VersionNumber,
    VersionPath,
    returns,
)
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.rest import registry_codec as codec
from trackflow.store.sql.registry_store import SqlRegistryStore

router = APIRouter(tags=["registry"], responses=ERROR_RESPONSES)


def registry(s: Services = Depends(get_services)) -> SqlRegistryStore:
    return SqlRegistryStore(s.db)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateModel(_Body):
    name: str
    tags: dict[str, str] = Field(default_factory=dict)
    description: str | None = None


class UpdateModel(_Body):
    description: str | None = None
    new_name: str | None = None


class RegistrySearch(_Body):
    filter: str | None = None
    max_results: Int64 | None = None
    order_by: list[str] = Field(default_factory=list)
    page_token: str | None = None


class Tag(_Body):
    key: str
    value: str


class CreateVersion(_Body):
    source: str
    run_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    run_link: str | None = None
    description: str | None = None
    user_id: str = ""


class UpdateVersion(_Body):
    description: str


class Stage(_Body):
    stage: str
    archive_existing_versions: bool = False


class Alias(_Body):
    version: VersionNumber


# Registered models -----------------------------------------------------------------------
@router.post("/registered-models", **returns(out.RegisteredModelOut))
def create_registered_model(body: CreateModel, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    return codec.model_to_json(r.create_registered_model(body.name, body.tags, body.description))


@router.post("/registered-models/search", **returns(out.RegisteredModelsOut))
def search_registered_models(body: RegistrySearch, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    page = r.search_registered_models(body.filter, body.max_results or 100, body.order_by, body.page_token)
    return {"registered_models": [codec.model_to_json(m) for m in page], "next_page_token": page.next_page_token}


@router.get("/registered-models/{name}", **returns(out.RegisteredModelOut))
def get_registered_model(name: str, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    return codec.model_to_json(r.get_registered_model(name))


@router.patch("/registered-models/{name}", **returns(out.RegisteredModelOut))
def update_registered_model(name: str, body: UpdateModel, r: SqlRegistryStore = Depends(registry)) -> dict:
    if body.new_name is None and body.description is None:
        raise InvalidInput("nothing to update: send 'description' and/or 'new_name'")
    model = None
    if body.description is not None:
        model = r.update_registered_model(name, body.description)
    if body.new_name is not None and body.new_name != name:
        model = r.rename_registered_model(name, body.new_name)
    return codec.model_to_json(model or r.get_registered_model(name))


@router.delete("/registered-models/{name}", **returns(out.EmptyOut))
def delete_registered_model(name: str, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.delete_registered_model(name)
    return {}


@router.put("/registered-models/{name}/tags", **returns(out.EmptyOut))
def set_registered_model_tag(name: str, body: Tag, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.set_registered_model_tag(name, body.key, body.value)
    return {}


@router.delete("/registered-models/{name}/tags", **returns(out.EmptyOut))
def delete_registered_model_tag(name: str, key: str, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.delete_registered_model_tag(name, key)
    return {}


@router.get("/registered-models/{name}/latest-versions", **returns(out.ModelVersionsOut))
def get_latest_versions(
    name: str, stages: list[str] = Query(default_factory=list), r: SqlRegistryStore = Depends(registry)
) -> dict[str, Any]:
    return {"model_versions": [codec.version_to_json(v) for v in r.get_latest_versions(name, stages)]}


# Versions --------------------------------------------------------------------------------
@router.post("/registered-models/{name}/versions", **returns(out.ModelVersionOut))
def create_model_version(name: str, body: CreateVersion, s: Services = Depends(get_services)) -> dict[str, Any]:
    if body.run_id:
        s.tracking.get_run(body.run_id)  # NotFound names an unknown run
    version = SqlRegistryStore(s.db).create_model_version(
        name, body.source, body.run_id, body.tags, body.run_link, body.description, body.user_id
    )
    return codec.version_to_json(version)


@router.post("/model-versions/search", **returns(out.ModelVersionsPageOut))
def search_model_versions(body: RegistrySearch, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    page = r.search_model_versions(body.filter, body.max_results or 10_000, body.order_by, body.page_token)
    return {"model_versions": [codec.version_to_json(v) for v in page], "next_page_token": page.next_page_token}


@router.get("/registered-models/{name}/versions/{version}", **returns(out.ModelVersionOut))
def get_model_version(name: str, version: VersionPath, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    return codec.version_to_json(r.get_model_version(name, version))


@router.patch("/registered-models/{name}/versions/{version}", **returns(out.ModelVersionOut))
def update_model_version(
    name: str, version: VersionPath, body: UpdateVersion, r: SqlRegistryStore = Depends(registry)
) -> dict[str, Any]:
    return codec.version_to_json(r.update_model_version(name, version, body.description))


@router.delete("/registered-models/{name}/versions/{version}", **returns(out.EmptyOut))
def delete_model_version(name: str, version: VersionPath, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.delete_model_version(name, version)
    return {}


@router.post("/registered-models/{name}/versions/{version}/stage", **returns(out.ModelVersionOut))
def transition_stage(name: str, version: VersionPath, body: Stage, r: SqlRegistryStore = Depends(registry)) -> dict:
    return codec.version_to_json(
        r.transition_model_version_stage(name, version, body.stage, body.archive_existing_versions)
    )


@router.put("/registered-models/{name}/versions/{version}/tags", **returns(out.EmptyOut))
def set_model_version_tag(name: str, version: VersionPath, body: Tag, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.set_model_version_tag(name, version, body.key, body.value)
    return {}


@router.delete("/registered-models/{name}/versions/{version}/tags", **returns(out.EmptyOut))
def delete_model_version_tag(
    name: str, version: VersionPath, key: str, r: SqlRegistryStore = Depends(registry)
) -> dict:
    r.delete_model_version_tag(name, version, key)
    return {}


@router.get("/registered-models/{name}/versions/{version}/lineage", **returns(out.VersionLineageOut))
def get_lineage(name: str, version: VersionPath, s: Services = Depends(get_services)) -> dict[str, Any]:
    mv = SqlRegistryStore(s.db).get_model_version(name, version)
    run = None
    if mv.run_id:
        try:
            run = s.tracking.get_run(mv.run_id)
        except NotFound:
            run = None
    return codec.lineage_to_json(lineage_of(mv, run))


# Aliases ---------------------------------------------------------------------------------
@router.put("/registered-models/{name}/aliases/{alias}", **returns(out.EmptyOut))
def set_alias(name: str, alias: str, body: Alias, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.set_registered_model_alias(name, alias, body.version)
    return {}


@router.delete("/registered-models/{name}/aliases/{alias}", **returns(out.EmptyOut))
def delete_alias(name: str, alias: str, r: SqlRegistryStore = Depends(registry)) -> dict:
    r.delete_registered_model_alias(name, alias)
    return {}


@router.get("/registered-models/{name}/aliases/{alias}", **returns(out.ModelVersionOut))
def get_by_alias(name: str, alias: str, r: SqlRegistryStore = Depends(registry)) -> dict[str, Any]:
    return codec.version_to_json(r.get_model_version_by_alias(name, alias))


# Events ----------------------------------------------------------------------------------
@router.get("/registry/events", **returns(out.RegistryEventsOut))
def list_events(
    name: str | None = None,
    after_event_id: int = Query(0, ge=INT64_MIN, le=INT64_MAX),
    max_results: int = Query(1000, ge=INT64_MIN, le=INT64_MAX),
    r: SqlRegistryStore = Depends(registry),
) -> dict[str, Any]:
    """Registry changes after ``after_event_id``, oldest first: poll with the last id seen."""
    return {"events": [codec.event_to_json(e) for e in r.list_events(name, after_event_id, max_results)]}
