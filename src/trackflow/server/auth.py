"""Who may call the server, when ``settings.auth`` is on: every request but the open paths
carries a user's HTTP Basic credentials or a Bearer API token, else 401 (with
``WWW-Authenticate``, so a browser asks and MLflow's client reports it). The user is put in
``request.state.user`` for the routes that need more (``require_admin``).

A browser signs in at /login instead (server/sessions.py): its session cookie is a third way to
authenticate, and then every change must carry the session's CSRF token in ``X-CSRF-Token``.
A browser asking for a page without credentials is sent to /login rather than answered 401."""

from __future__ import annotations

import hmac
import json
import logging
from datetime import UTC, datetime

import anyio
from fastapi import Request
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackflow.auth.credentials import Accounts
from trackflow.entities.auth import User
from trackflow.errors import Conflict, PermissionDenied, Unauthenticated
from trackflow.server.sessions import CSRF_HEADER, LOGIN_PATHS, SESSION_COOKIE, Sessions, login_url

# Liveness probes and the UI's static files; task processes authenticate to /task-api with
# their try's own token (server/task_api).
OPEN_PREFIXES = ("/static/ui/", "/task-api/")
OPEN_PATHS = frozenset({"/health", "/version", *LOGIN_PATHS})
READS = frozenset({"GET", "HEAD", "OPTIONS"})
log = logging.getLogger(__name__)
UNAUTHENTICATED = ("you are not authenticated: send a user's Basic credentials (MLFLOW_TRACKING_USERNAME and "
                   "MLFLOW_TRACKING_PASSWORD) or an API token as Bearer (MLFLOW_TRACKING_TOKEN, "
                   "TRACKFLOW_TRACKING_TOKEN), or sign in at /login; see README, Team setup")
CSRF_MISSING = ("CSRF token missing or wrong: a change made with the browser session's cookie must send the "
                "token of the page's <meta name=\"csrf-token\"> in the X-CSRF-Token header; reload the page")


def is_change(method: str, path: str) -> bool:
    """A request that may change something: not a read (MLflow's searches are POSTs)."""
    return method not in READS and not path.rsplit("/", 1)[-1].startswith("search")


def is_open(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)


class AuthMiddleware:
    """Authenticates every request but the open ones, and writes each change request (any
    method but GET, HEAD and OPTIONS), refused ones included, to the audit log once answered."""

    def __init__(self, app: ASGIApp, accounts: Accounts, sessions: Sessions | None = None) -> None:
        self.app = app
        self.accounts = accounts
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or is_open(scope["path"]):
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        # a token lookup, or argon2 on a first Basic check: off the event loop
        user = await anyio.to_thread.run_sync(self.accounts.user_of, header) if header else None
        changes = is_change(scope.get("method", "GET"), scope["path"])
        csrf_ok = True
        if header is None and self.sessions is not None:
            session = await anyio.to_thread.run_sync(self.sessions.session_of, _cookie(scope, SESSION_COOKIE),
                                                     datetime.now(UTC))
            if session is not None:
                user = session.user
                scope.setdefault("state", {})["csrf"] = session.csrf  # pages put it in <meta name="csrf-token">
                scope["state"]["session_id"] = session.id  # /api/v1/sessions marks the current one
                # any non-read needs the token, searches included: the cookie rides along on
                # requests other sites make, the token does not
                if scope.get("method", "GET") not in READS:
                    sent = _header(scope, CSRF_HEADER.encode()) or ""
                    csrf_ok = hmac.compare_digest(sent.encode(), session.csrf.encode())
        status = [500]  # what the client got; 500 if the app failed before answering

        async def send_noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if user is None and _wants_page(scope):
                status[0] = 303
                await _redirect(send, login_url(scope["path"], scope.get("query_string", b"").decode("latin-1")))
            elif user is None:
                status[0] = 401
                await _unauthenticated(send)
            elif not csrf_ok:
                status[0] = 403
                await _json_error(send, 403, "PERMISSION_DENIED", CSRF_MISSING)
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


def _header(scope: Scope, name: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope["headers"] if k == name), None)


def _cookie(scope: Scope, name: str) -> str | None:
    header = _header(scope, b"cookie")
    return cookie_parser(header).get(name) if header else None


def _wants_page(scope: Scope) -> bool:
    """A browser navigating to a page (not the API, not a script's fetch of JSON)."""
    path = scope["path"]
    return (scope["type"] == "http" and scope.get("method") in ("GET", "HEAD")
            and "text/html" in (_header(scope, b"accept") or "")
            and not path.startswith(("/api/", "/ajax-api/", "/v1/")))


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 303, "headers": [
        (b"location", location.encode("latin-1")), (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})


async def _json_error(send: Send, status: int, code: str, message: str,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"error_code": code, "message": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


async def _unauthenticated(send: Send) -> None:
    await _json_error(send, 401, "UNAUTHENTICATED", UNAUTHENTICATED,
                      [(b"www-authenticate", b'Basic realm="trackflow"')])


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
