"""/api/v1 permissions and groups (auth on). Who may call each is decided in server/access.py:
MANAGE on an object to see and change its grants, admins for groups. The same grants answer
MLflow's permission endpoints (mlflow_compat/auth.py) and `trackflow permissions`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict

from trackflow.auth.credentials import check_username
from trackflow.auth.permissions import Permissions, parse_level, parse_resource_type
from trackflow.entities.auth import Grant, Group, User
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, returns
from trackflow.server.auth import current_user
from trackflow.server.deps import get_services
from trackflow.server.services import Services

router = APIRouter(tags=["permissions"], responses=ERROR_RESPONSES)
NAME = Path(min_length=1, max_length=150)
RESOURCE_TYPE = Path(min_length=1, max_length=32, description="experiment, registered_model (or prompt) or dag")
RESOURCE_ID = Path(min_length=1, max_length=500)
PermissionName = Literal["READ", "EDIT", "MANAGE", "NO_PERMISSIONS"]


class NewPermission(BaseModel):
    model_config = ConfigDict(extra="forbid")
    permission: PermissionName


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str


def permissions(s: Services = Depends(get_services), _: User = Depends(current_user)) -> Permissions:
    assert s.permissions is not None  # create_app always builds them
    return s.permissions


def grant_json(g: Grant) -> dict[str, Any]:
    return {"principal_kind": g.principal_kind, "principal": g.principal, "resource_type": g.resource_type,
            "resource_id": g.resource_id, "permission": g.permission}


def group_json(g: Group) -> dict[str, Any]:
    return {"name": g.name, "members": list(g.members),
            "created_at": g.created_at.isoformat() if g.created_at else None}


@router.get("/permissions", **returns(out.GrantsOut))
def list_permissions(p: Permissions = Depends(permissions),
                     principal_kind: Annotated[Literal["user", "group"] | None, Query()] = None,
                     principal: Annotated[str | None, Query(min_length=1, max_length=150)] = None,
                     resource_type: Annotated[str | None, Query(min_length=1, max_length=32)] = None) -> dict[str, Any]:
    """Every grant (admins), or those of one user or group, or on one kind of object."""
    kind = parse_resource_type(resource_type) if resource_type else None
    return {"permissions": [grant_json(g) for g in p.store.list_permissions(kind, None, principal_kind, principal)]}


@router.get("/permissions/{resource_type}/{resource_id}", **returns(out.GrantsOut))
def object_permissions(resource_type: Annotated[str, RESOURCE_TYPE], resource_id: Annotated[str, RESOURCE_ID],
                       p: Permissions = Depends(permissions)) -> dict[str, Any]:
    """The grants on one object (MANAGE on it)."""
    kind = parse_resource_type(resource_type)
    return {"permissions": [grant_json(g) for g in p.store.list_permissions(kind, resource_id)]}


@router.get("/permissions/{resource_type}/{resource_id}/effective", **returns(out.EffectivePermissionOut))
def effective_permission(resource_type: Annotated[str, RESOURCE_TYPE], resource_id: Annotated[str, RESOURCE_ID],
                         user: User = Depends(current_user), p: Permissions = Depends(permissions)) -> dict[str, Any]:
    """What the caller may do with one object, from their grants, their groups' and the default."""
    kind = parse_resource_type(resource_type)
    return {"username": user.username, "resource_type": kind, "resource_id": resource_id,
            "permission": p.level(user, kind, resource_id).name}


@router.put("/permissions/{resource_type}/{resource_id}/{principal_kind}/{principal}", **returns(out.GrantOut))
def grant(resource_type: Annotated[str, RESOURCE_TYPE], resource_id: Annotated[str, RESOURCE_ID],
          principal_kind: Literal["user", "group"], principal: Annotated[str, NAME], body: NewPermission,
          p: Permissions = Depends(permissions)) -> dict[str, Any]:
    """Give a user or a group READ, EDIT, MANAGE or NO_PERMISSIONS on one object (MANAGE on it)."""
    return grant_json(p.grant(principal_kind, principal, resource_type, resource_id, parse_level(body.permission)))


@router.delete("/permissions/{resource_type}/{resource_id}/{principal_kind}/{principal}", **returns(out.EmptyOut))
def revoke(resource_type: Annotated[str, RESOURCE_TYPE], resource_id: Annotated[str, RESOURCE_ID],
           principal_kind: Literal["user", "group"], principal: Annotated[str, NAME],
           p: Permissions = Depends(permissions)) -> dict[str, Any]:
    """Take a user's or group's grant away (they fall back to their groups' and the default)."""
    p.store.delete_permission(principal_kind, principal, parse_resource_type(resource_type), resource_id)
    return {}


@router.get("/groups", **returns(out.GroupsOut))
def list_groups(p: Permissions = Depends(permissions)) -> dict[str, Any]:
    return {"groups": [group_json(g) for g in p.store.list_groups()]}


@router.post("/groups", **returns(out.GroupOut))
def create_group(body: NewGroup, p: Permissions = Depends(permissions)) -> dict[str, Any]:
    return group_json(p.store.create_group(check_username(body.name, "group name"), datetime.now(UTC)))


@router.delete("/groups/{name}", **returns(out.EmptyOut))
def delete_group(name: Annotated[str, NAME], p: Permissions = Depends(permissions)) -> dict[str, Any]:
    p.store.delete_group(name)
    return {}


@router.put("/groups/{name}/members/{username}", **returns(out.EmptyOut))
def add_member(name: Annotated[str, NAME], username: Annotated[str, NAME],
               p: Permissions = Depends(permissions)) -> dict[str, Any]:
    p.store.add_member(name, username)
    return {}


@router.delete("/groups/{name}/members/{username}", **returns(out.EmptyOut))
def remove_member(name: Annotated[str, NAME], username: Annotated[str, NAME],
                  p: Permissions = Depends(permissions)) -> dict[str, Any]:
    p.store.remove_member(name, username)
    return {}

