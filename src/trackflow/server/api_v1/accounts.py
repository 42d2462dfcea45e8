"""/api/v1 users, API tokens and browser sessions (auth on): admins manage users; a user makes
and revokes their own tokens and sessions (an admin, anyone's). A token is in the answer that
creates it, never again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from trackflow.auth.credentials import MAX_PASSWORD, Accounts
from trackflow.entities.auth import ApiToken, AuditEntry, User, UserSession
from trackflow.errors import NotFound, PermissionDenied
from trackflow.pipelines.operations import parse_date
from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, returns
from trackflow.server.auth import current_user, require_admin
from trackflow.server.deps import get_services
from trackflow.server.services import Services

router = APIRouter(tags=["accounts"], responses=ERROR_RESPONSES)
USERNAME = Path(min_length=1, max_length=150)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    is_admin: bool = False


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=150)
    username: str | None = Field(default=None, min_length=1, max_length=150)  # an admin's token for someone


def accounts(s: Services = Depends(get_services)) -> Accounts:
    assert s.accounts is not None  # create_app always builds them
    return s.accounts


def user_json(user: User) -> dict[str, Any]:
    return {"username": user.username, "is_admin": user.is_admin,
            "created_at": user.created_at.isoformat() if user.created_at else None}


def token_json(token: ApiToken) -> dict[str, Any]:
    return {"id": token.id, "username": token.username, "name": token.name,
            "created_at": token.created_at.isoformat() if token.created_at else None,
            "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None}


@router.get("/audit", **returns(out.AuditOut))
def audit_log(_: User = Depends(require_admin), a: Accounts = Depends(accounts),
              username: Annotated[str | None, Query(min_length=1, max_length=150)] = None,
              since: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
              limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
              before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="entries older than this id")] = None,
              ) -> dict[str, Any]:
    """Changes made through this server, newest first (admins): who, what, when, from where."""
    start = parse_date(since, "since") if since else None
    return {"entries": [audit_json(e) for e in a.store.list_audit(username, start, limit, before)]}


def audit_json(e: AuditEntry) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "username": e.username, "method": e.method,
            "path": e.path, "query": e.query, "status": e.status, "client": e.client}


@router.get("/users/me", **returns(out.UserOut))
def me(user: User = Depends(current_user)) -> dict[str, Any]:
    return user_json(user)


@router.get("/users", **returns(out.UsersOut))
def list_users(_: User = Depends(require_admin), a: Accounts = Depends(accounts)) -> dict[str, Any]:
    return {"users": [user_json(u) for u in a.store.list_users()]}


@router.post("/users", **returns(out.UserOut))
def create_user(body: NewUser, _: User = Depends(require_admin), a: Accounts = Depends(accounts)) -> dict[str, Any]:
    return user_json(a.create_user(body.username, body.password, body.is_admin, datetime.now(UTC)))


@router.patch("/users/{username}/password", **returns(out.EmptyOut))
def set_password(body: NewPassword, username: Annotated[str, USERNAME], user: User = Depends(current_user),
                 a: Accounts = Depends(accounts)) -> dict[str, Any]:
    if username != user.username and not user.is_admin:
        raise PermissionDenied(f"user {user.username!r} may only change their own password")
    a.set_password(username, body.password)
    return {}


@router.delete("/users/{username}", **returns(out.EmptyOut))
def delete_user(username: Annotated[str, USERNAME], _: User = Depends(require_admin),
                a: Accounts = Depends(accounts)) -> dict[str, Any]:
    a.delete_user(username)
    return {}


@router.get("/tokens", **returns(out.TokensOut))
def list_tokens(user: User = Depends(current_user), a: Accounts = Depends(accounts),
                username: Annotated[str | None, Query(min_length=1, max_length=150)] = None) -> dict[str, Any]:
    """The caller's tokens (an admin: anyone's, or all without ``username``)."""
    if not user.is_admin and username not in (None, user.username):
        raise PermissionDenied(f"user {user.username!r} may only list their own tokens")
    owner = username or (None if user.is_admin else user.username)
    return {"tokens": [token_json(t) for t in a.store.list_tokens(owner)]}


@router.post("/tokens", **returns(out.NewTokenOut))
def create_token(body: NewToken, user: User = Depends(current_user), a: Accounts = Depends(accounts)) -> dict[str, Any]:
    owner = body.username or user.username
    if owner != user.username and not user.is_admin:
        raise PermissionDenied(f"user {user.username!r} may only make tokens for themselves")
    record, token = a.create_token(owner, body.name, datetime.now(UTC))
    return {**token_json(record), "token": token}


@router.delete("/tokens/{token_id}", **returns(out.TokenOut))
def revoke_token(token_id: Annotated[str, Path(min_length=1, max_length=32)], user: User = Depends(current_user),
                 a: Accounts = Depends(accounts)) -> dict[str, Any]:
    mine = {t.id for t in a.store.list_tokens(user.username)}
    if token_id not in mine and not user.is_admin:
        raise NotFound(f"token {token_id!r} does not exist")  # another user's token: not even its existence
    return token_json(a.store.revoke_token(token_id, datetime.now(UTC)))


def session_json(session: UserSession, current: str | None) -> dict[str, Any]:
    return {"id": session.id, "username": session.username, "created_at": session.created_at.isoformat(),
            "last_seen_at": session.last_seen_at.isoformat(), "client": session.client,
            "user_agent": session.user_agent, "method": session.method, "current": session.id == current}


@router.get("/sessions", **returns(out.SessionsOut))
def list_sessions(request: Request, user: User = Depends(current_user), a: Accounts = Depends(accounts),
                  username: Annotated[str | None, Query(min_length=1, max_length=150)] = None) -> dict[str, Any]:
    """The caller's browser sessions, newest first (an admin: anyone's, or all without ``username``)."""
    if not user.is_admin and username not in (None, user.username):
        raise PermissionDenied(f"user {user.username!r} may only list their own sessions")
    owner = username or (None if user.is_admin else user.username)
    max_age = request.app.state.services.settings.session_hours * 3600
    live = a.sessions.list_sessions(owner, created_after=datetime.now(UTC) - timedelta(seconds=max_age))
    return {"sessions": [session_json(s, getattr(request.state, "session_id", None)) for s in live]}


@router.delete("/sessions/{session_id}", **returns(out.SessionOut))
def revoke_session(request: Request, session_id: Annotated[str, Path(min_length=1, max_length=64)],
                   user: User = Depends(current_user), a: Accounts = Depends(accounts)) -> dict[str, Any]:
    """End one browser session: its next request is refused (401). Users end their own; admins any."""
    found = a.sessions.session_user(session_id)
    if found is None or (found[0].username != user.username and not user.is_admin):
        raise NotFound(f"session {session_id!r} does not exist")  # another user's session: not even its existence
    return session_json(a.sessions.revoke_session(session_id), getattr(request.state, "session_id", None))
