"""/api/v1/variables: Airflow's Variables (values encrypted at rest; the list never shows them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from trackflow.errors import NotFound
from trackflow.pipelines.variables import fernet_for
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.sql.variable_store import SqlVariableStore

router = APIRouter(tags=["variables"], responses=ERROR_RESPONSES)
KEY = Path(min_length=1, max_length=250)


class NewValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(max_length=10_000_000)
    description: str | None = Field(default=None, max_length=10_000)


def variables(s: Services = Depends(get_services)) -> SqlVariableStore:
    return SqlVariableStore(s.db, fernet_for(s.settings))


@router.get("/variables", **returns(out.VariablesOut))
def list_variables(v: SqlVariableStore = Depends(variables)) -> dict[str, Any]:
    return {"variables": [{"key": r.key, "description": r.description,
                           "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in v.list()]}


@router.get("/variables/{key}", **returns(out.VariableOut))
def get_variable(key: Annotated[str, KEY], v: SqlVariableStore = Depends(variables)) -> dict[str, Any]:
    value = v.get(key)
    if value is None:
        raise NotFound(f"variable {key!r} does not exist")
    return {"key": key, "value": value}


@router.put("/variables/{key}", **returns(out.VariableOut))
def set_variable(key: Annotated[str, KEY], body: NewValue, v: SqlVariableStore = Depends(variables)) -> dict[str, Any]:
    v.set(key, body.value, body.description, datetime.now(UTC))
    return {"key": key, "value": body.value}


@router.delete("/variables/{key}", **returns(out.EmptyOut))
def delete_variable(key: Annotated[str, KEY], v: SqlVariableStore = Depends(variables)) -> dict[str, Any]:
    if not v.delete(key):
        raise NotFound(f"variable {key!r} does not exist")
    return {}
