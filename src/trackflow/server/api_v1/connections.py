"""/api/v1/connections: Airflow's Connections. A connection's password and extra are encrypted
at rest; the list never shows them, GET of one connection (admins) does, as `trackflow
connections get` needs them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities.connection import Connection
from trackflow.errors import NotFound
from trackflow.pipelines.connections import to_wire
from trackflow.pipelines.variables import fernet_for
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.sql.connection_store import MAX_FIELD, MAX_ID, SqlConnectionStore

router = APIRouter(tags=["connections"], responses=ERROR_RESPONSES)
CONN_ID = Path(min_length=1, max_length=MAX_ID)


class NewConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conn_type: str = Field(min_length=1, max_length=MAX_FIELD)
    description: str | None = Field(default=None, max_length=10_000)
    host: str | None = Field(default=None, max_length=MAX_FIELD)
    schema_: str | None = Field(default=None, max_length=MAX_FIELD, alias="schema")
    login: str | None = Field(default=None, max_length=10_000)
    password: str | None = Field(default=None, max_length=10_000)
    port: int | None = Field(default=None, ge=1, le=65535)
    extra: str | None = Field(default=None, max_length=1_000_000)


def connections(s: Services = Depends(get_services)) -> SqlConnectionStore:
    return SqlConnectionStore(s.db, fernet_for(s.settings))


@router.get("/connections", **returns(out.ConnectionsOut))
def list_connections(c: SqlConnectionStore = Depends(connections)) -> dict[str, Any]:
    return {"connections": [to_wire(conn, secrets=False) for conn in c.list()]}


@router.get("/connections/{conn_id}", **returns(out.ConnectionOut))
def get_connection(conn_id: Annotated[str, CONN_ID], c: SqlConnectionStore = Depends(connections)) -> dict[str, Any]:
    found = c.get(conn_id)
    if found is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    return to_wire(found, secrets=True)


@router.put("/connections/{conn_id}", **returns(out.ConnectionListed))
def put_connection(conn_id: Annotated[str, CONN_ID], body: NewConnection,
                   c: SqlConnectionStore = Depends(connections)) -> dict[str, Any]:
    """Create or replace the connection (the answer leaves out its password and extra)."""
    conn = Connection(conn_id=conn_id, conn_type=body.conn_type, description=body.description, host=body.host,
                      schema=body.schema_, login=body.login, password=body.password, port=body.port, extra=body.extra)
    c.set(conn, datetime.now(UTC))
    return to_wire(conn, secrets=False)


@router.delete("/connections/{conn_id}", **returns(out.EmptyOut))
def delete_connection(conn_id: Annotated[str, CONN_ID], c: SqlConnectionStore = Depends(connections)) -> dict[str, Any]:
    if not c.delete(conn_id):
        raise NotFound(f"connection {conn_id!r} does not exist")
    return {}
