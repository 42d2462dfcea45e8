"""/api/v1 routes for assets: list them, list their events, and record an event from outside
(an external system announcing new data) — which starts the DAGs scheduled on the asset."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities.assets import NewAssetEvent
from trackflow.errors import InvalidInput
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.runtime.channel import to_wire
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.pipelines import SERVICE_KEY, pipelines
from trackflow.server.api_v1.schemas import PARTITION_KEY, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services

router = APIRouter(tags=["assets"], responses=out.ERROR_RESPONSES)

NAME = Field(default=None, min_length=1, max_length=1500)


class NewEvent(BaseModel):
    """The asset by ``asset_id`` (Airflow's field), ``name`` or ``uri``; an unknown name or uri
    creates the asset (its uri defaults to its name and vice versa)."""

    model_config = ConfigDict(extra="forbid")
    asset_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    name: str | None = NAME
    uri: str | None = NAME
    extra: dict[str, Any] = Field(default_factory=dict)
    partition_key: str | None = PARTITION_KEY


@router.get("/assets", **returns(out.AssetsOut))
def list_assets(p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Every asset with an event, and the DAGs scheduled on each."""
    consumers = p.assets.consumers()
    return {"assets": [{"id": a.id, "name": a.name, "uri": a.uri, "group": a.group, "extra": a.extra,
                        "created_at": a.created_at.isoformat() if a.created_at else None,
                        "consuming_dags": consumers.get(a.name, [])} for a in p.assets.list_assets()]}


@router.get("/assets/events", **returns(out.AssetEventsOut))
def list_events(p: Pipelines = Depends(pipelines),
                name: Annotated[str | None, Query(min_length=1, max_length=1500)] = None,
                limit: Annotated[int, Query(ge=1, le=10_000)] = 100) -> dict[str, Any]:
    """Asset events, newest first (of one asset with ``name``)."""
    return {"asset_events": [to_wire(e) for e in p.assets.list_events(name, limit)]}


@router.post("/assets/events", **returns(out.AssetEventOut))
def create_event(body: NewEvent, s: Services = Depends(get_services),
                 p: Pipelines = Depends(pipelines)) -> dict[str, Any]:
    """Record an event (source "api"); the DAGs scheduled on the asset run as for a task's."""
    if body.asset_id is not None:
        known = p.assets.get_asset(body.asset_id)
        name, uri = known.name, known.uri
    else:
        given = body.name or body.uri
        if given is None:
            raise InvalidInput("name the asset: asset_id, name or uri")
        name, uri = body.name or given, body.uri or given
    [event] = p.assets.record_events([NewAssetEvent(name, uri, extra=body.extra, source="api",
                                                      partition_key=body.partition_key)], datetime.now(UTC))
    service = s.extras.get(SERVICE_KEY)
    if service is not None:
        service.wake()
    return to_wire(event)
