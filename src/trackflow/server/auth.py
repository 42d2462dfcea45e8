"""Who may call the server, when ``settings.auth`` is on: every request but the open paths
carries a user's HTTP Basic credentials or a Bearer API token, else 401 (with
``WWW-Authenticate``, so a browser asks and MLflow's client reports it). The user is put in
``request.state.user`` for the routes that need more (``require_admin``)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import anyio
from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackflow.auth.credentials import Accounts
from trackflow.entities.auth import User
from trackflow.errors import Conflict, PermissionDenied, Unauthenticated

# Liveness probes and the UI's static files; task processes authenticate to /task-api with
# their try's own token (server/task_api).
OPEN_PREFIXES = ("/static/ui/", "/task-api/")
OPEN_PATHS = frozenset({"/health", "/version"})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)
UNAUTHENTICATED = ("you are not authenticated: send a user's Basic credentials (MLFLOW_TRACKING_USERNAME and "
                   "MLFLOW_TRACKING_PASSWORD) or an API token as Bearer (MLFLOW_TRACKING_TOKEN, "
                   "TRACKFLOW_TRACKING_TOKEN); see README, Team setup")


def is_change(method: str, path: str) -> bool:
    """A request that may change something: not a read (MLflow's searches are POSTs)."""
    return method not in READS and not path.rsplit("/", 1)[-1].startswith("search")


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class AuthMiddleware:
    """Authenticates every request but the open ones, and writes each change request (any
    method but GET, HEAD and OPTIONS), refused ones included, to the audit log once answered."""

    def __init__(self, app: ASGIApp, accounts: Accounts) -> None:
        self.app = app
        self.accounts = accounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        # a token lookup, or argon2 on a first Basic check: off the event loop
        user = await anyio.to_thread.run_sync(self.accounts.user_of, header) if header else None
        changes = is_change(scope.get("method", "GET"), scope["path"])
        status = [500]  # what the client got; 500 if the app failed before answering

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if user is None:
                status[0] = 401
                await _unauthenticated(send)
            else:
                scope.setdefault("state", {})["user"] = user
                await self.app(scope, receive, send_noting_status if changes else send)
        finally:
            if changes:
                await anyio.to_thread.run_sync(self._audit, scope, user, status[0])

    def _audit(self, scope: Scope, user: User | None, status: int) -> None:
        client = scope.get("client") or ("", 0)
        try:
            self.accounts.store.record_audit(datetime.now(UTC), user.username if user else None, scope["method"],
                                             scope["path"], scope.get("query_string", b"").decode("latin-1"),
                                             status, str(client[0]))
        except Exception:  # the change itself stands; a lost audit line is logged loudly
            log.exception("could not write the audit log entry of %s %s", scope.get("method"), scope["path"])


async def _unauthenticated(send: Send) -> None:
    body = json.dumps({"error_code": "UNAUTHENTICATED", "message": UNAUTHENTICATED}).encode()
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"www-authenticate", b'Basic realm="trackflow"')]})
    await send({"type": "http.response.body", "body": body})


def current_user(request: Request) -> User:
    """The authenticated user; Conflict when auth is off (nobody is anybody then)."""
    user: User | None = getattr(request.state, "user", None)
    if user is None:
        if not request.app.state.services.settings.auth:
            raise Conflict("auth is off on this server: start it with --auth (or auth = true) to use accounts; "
                           "create users with `trackflow users create` on the server's machine")
        raise Unauthenticated(UNAUTHENTICATED)
    return user


def require_admin(request: Request) -> User:
    user = current_user(request)
    if not user.is_admin:
        raise PermissionDenied(f"user {user.username!r} is not an admin")
    return user
