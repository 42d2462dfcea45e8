"""Users and API tokens of a team server (auth on). Secrets never live here: a user's
password and a token exist only as hashes in the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    username: str
    is_admin: bool = False
    created_at: datetime | None = None
    id: int | None = None  # MLflow's user id: 1, 2, ... in the order users were made


@dataclass(frozen=True)
class ApiToken:
    """A token's record; the token itself was shown once, when it was made."""

    id: str
    username: str
    name: str
    created_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One change request: who (None: not signed in), what, when, from where, how it ended."""

    id: int
    at: datetime
    username: str | None
    method: str
    path: str
    query: str
    status: int
    client: str


@dataclass(frozen=True)
class Grant:
    """What one user or group (``principal_kind`` "user" or "group") may do with one experiment,
    registered model or DAG: READ, EDIT, MANAGE or NO_PERMISSIONS."""

    principal_kind: str
    principal: str
    resource_type: str
    resource_id: str
    permission: str


@dataclass(frozen=True)
class Group:
    name: str
    members: tuple[str, ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class UserSession:
    """One browser sign-in, kept on the server so it can be listed and revoked one by one. Its
    ``id`` rides signed in the session cookie."""

    id: str
    username: str
    created_at: datetime
    last_seen_at: datetime
    client: str = ""  # the address it signed in from
    user_agent: str = ""
    method: str = "password"  # password | oidc
    csrf: str = ""  # the token a change made with this session must send (X-CSRF-Token)
