"""MLflow's basic-auth app endpoints (``mlflow server --app-name basic-auth``), answered for its
``AuthServiceClient`` (``mlflow.server.get_app_client("basic-auth", ...)``): users
(``/api/2.0/mlflow/users/...``), MLflow 3's per-user grants (``/api/3.0/mlflow/users/permissions/
grant|revoke|get|list``), and MLflow 2's per-object permissions (``experiments/permissions/...``,
``registered-models/permissions/...``) that older clients call. Who may call each is decided in
server/access.py; these handlers do what is asked. Same grants as /api/v1/permissions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from trackflow.auth.credentials import Accounts
from trackflow.auth.permissions import (
    EXPERIMENT,
    REGISTERED_MODEL,
    Level,
    Permissions,
    parse_level,
    parse_resource_type,
)
from trackflow.entities.auth import User
from trackflow.errors import InvalidInput, NotFound
from trackflow.server.auth import current_user
from trackflow.server.mlflow_compat.codec import as_bool, as_str, read_payload, required
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services

router = APIRouter()
v3_router = APIRouter()
AuthHandler = Callable[[Services, User, dict[str, Any]], dict[str, Any]]


def _add(target: APIRouter, path: str, method: str, handler: AuthHandler) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        user = current_user(request)
        payload = await read_payload(request)
        return JSONResponse(await run_in_threadpool(handler, request.app.state.services, user, payload))

    endpoint.__name__ = handler.__name__
    target.add_api_route(path, endpoint, methods=[method], include_in_schema=False)


def _parts(s: Services) -> tuple[Accounts, Permissions]:
    assert s.accounts is not None and s.permissions is not None  # create_app builds them
    return s.accounts, s.permissions


def _text(payload: dict[str, Any], name: str) -> str:
    return as_str(required(payload, name), name)


class OwnAccount(InvalidInput):
    """MLflow answers a user deleting their own account with BAD_REQUEST."""

    error_code = "BAD_REQUEST"


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "is_admin": user.is_admin, "username": user.username}


# Users -------------------------------------------------------------------------------------
def create_user(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    return {"user": user_json(accounts.create_user(_text(payload, "username"), _text(payload, "password"), False,
                                                   datetime.now(UTC)))}


def get_user(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    return {"user": user_json(accounts.store.get_user(_text(payload, "username")))}


def get_current_user(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    return {"user": user_json(accounts.store.get_user(sender.username)), "is_basic_auth": True}


def list_users(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    return {"users": [user_json(u) for u in accounts.store.list_users()]}


def update_user_password(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    username, password = _text(payload, "username"), _text(payload, "password")
    if username == sender.username:  # self-service re-asserts the current password (as MLflow)
        current = payload.get("current_password")
        if not current:
            raise InvalidInput("Current password is required when changing your own password.")
        if not accounts.password_matches(username, as_str(current, "current_password")):
            raise InvalidInput("Current password does not match.")
        if password == current:
            raise InvalidInput("New password must differ from the current password.")
    accounts.set_password(username, password)
    return {}


def update_user_admin(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    accounts.set_admin(_text(payload, "username"), as_bool(required(payload, "is_admin"), "is_admin"))
    return {}


def delete_user(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, _ = _parts(s)
    username = _text(payload, "username")
    if username == sender.username:
        raise OwnAccount("Users cannot delete their own account. Ask another admin to delete this user instead.")
    accounts.delete_user(username)
    return {}


# MLflow 3: per-user grants -------------------------------------------------------------------
def _target(payload: dict[str, Any]) -> tuple[str, str, str]:
    username, kind = _text(payload, "username"), _text(payload, "resource_type")
    return username, parse_resource_type(kind), _text(payload, "resource_id")


def grant_user_permission(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, permissions = _parts(s)
    username, kind, resource_id = _target(payload)
    level = parse_level(_text(payload, "permission"))
    accounts.store.get_user(username)
    permissions.grant("user", username, kind, resource_id, level)
    return {}


def revoke_user_permission(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, permissions = _parts(s)
    username, kind, resource_id = _target(payload)
    accounts.store.get_user(username)
    try:
        permissions.store.delete_permission("user", username, kind, resource_id)
    except NotFound:  # in MLflow's words
        raise NotFound(f"Permission for user={username} on resource_type={payload['resource_type']}, "
                       f"resource_id={resource_id} not found.") from None
    return {}


def get_user_permission(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, permissions = _parts(s)
    username, kind, resource_id = _target(payload)
    level = permissions.level(accounts.store.get_user(username), kind, resource_id)
    # MLflow's ``allowed`` is its USE tier: EDIT and MANAGE, not READ
    return {"allowed": level >= Level.EDIT, "permission": level.name}


def list_user_permissions(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
    accounts, permissions = _parts(s)
    user = accounts.store.get_user(_text(payload, "username"))
    grants = permissions.store.list_permissions(principal_kind="user", principal=user.username)
    return {"is_admin": user.is_admin, "permissions": [
        {"permission": g.permission, "resource_pattern": g.resource_id, "resource_type": g.resource_type}
        for g in grants]}


# MLflow 2: per-object permissions ------------------------------------------------------------
def _legacy(kind: str) -> tuple[str, str, str]:
    """(resource type, the request's id field, the answer's key) of experiments/ or registered-models/."""
    if kind == "experiments":
        return EXPERIMENT, "experiment_id", "experiment_permission"
    return REGISTERED_MODEL, "name", "registered_model_permission"


def legacy_handlers(kind: str) -> dict[str, tuple[str, AuthHandler]]:
    resource_type, id_field, answer_key = _legacy(kind)

    def answer(user: User, resource_id: str, permission: str) -> dict[str, Any]:
        return {answer_key: {id_field: resource_id, "user_id": user.id, "permission": permission}}

    def create(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
        accounts, permissions = _parts(s)
        user = accounts.store.get_user(_text(payload, "username"))
        resource_id, level = _text(payload, id_field), parse_level(_text(payload, "permission"))
        permissions.grant("user", user.username, resource_type, resource_id, level, must_exist=False)
        return answer(user, resource_id, level.name)

    def get(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
        accounts, permissions = _parts(s)
        user = accounts.store.get_user(_text(payload, "username"))
        resource_id = _text(payload, id_field)
        found = permissions.store.list_permissions(resource_type, resource_id, "user", user.username)
        if not found:
            raise NotFound(f"{kind[:-1].replace('-', ' ').capitalize()} permission with {id_field}={resource_id} "
                           f"and username={user.username} not found")
        return answer(user, resource_id, found[0].permission)

    def update(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
        accounts, permissions = _parts(s)
        user = accounts.store.get_user(_text(payload, "username"))
        permissions.grant("user", user.username, resource_type, _text(payload, id_field),
                          parse_level(_text(payload, "permission")), must_exist=True)
        return {}

    def remove(s: Services, sender: User, payload: dict[str, Any]) -> dict[str, Any]:
        accounts, permissions = _parts(s)
        user = accounts.store.get_user(_text(payload, "username"))
        permissions.store.delete_permission("user", user.username, resource_type, _text(payload, id_field))
        return {}

    return {"create": ("POST", create), "get": ("GET", get), "update": ("PATCH", update), "delete": ("DELETE", remove)}


_handler: AuthHandler
for _path, _method, _handler in (
    ("/users/create", "POST", create_user),
    ("/users/get", "GET", get_user),
    ("/users/current", "GET", get_current_user),
    ("/users/list", "GET", list_users),
    ("/users/update-password", "PATCH", update_user_password),
    ("/users/update-admin", "PATCH", update_user_admin),
    ("/users/delete", "DELETE", delete_user),
):
    _add(router, _path, _method, _handler)
for _kind in ("experiments", "registered-models"):
    for _verb, (_method, _handler) in legacy_handlers(_kind).items():
        _add(router, f"/{_kind}/permissions/{_verb}", _method, _handler)
for _path, _method, _handler in (
    ("/users/permissions/grant", "POST", grant_user_permission),
    ("/users/permissions/revoke", "POST", revoke_user_permission),
    ("/users/permissions/get", "GET", get_user_permission),
    ("/users/permissions/list", "GET", list_user_permissions),
):
    _add(v3_router, _path, _method, _handler)
