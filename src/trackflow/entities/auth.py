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
