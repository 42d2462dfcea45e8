"""The web UI's sign-in, when ``settings.auth`` is on: server-side sessions behind a signed
cookie, CSRF tokens and a limit on failed logins.

A session is a row in the database (store/sql/session_store.py: user, created, last seen,
address, user agent) and the cookie carries its id, signed with itsdangerous (the library
Starlette's SessionMiddleware uses) so that an id cannot be guessed into. Deleting the row ends
the session on its next request, in every worker: a user signs out one browser, an admin
revokes any session, a password change ends all of the user's. Every worker of a
``--workers K`` server checks the signature with the same key, read from ``session_secret`` or
a key file in ``$TRACKFLOW_HOME`` made on first use. A session older than ``session_hours`` is
refused even if a browser kept its cookie.

Failed logins are rows too, per username and per client address, so the limit
(``login_max_failures`` in ``login_failure_window`` seconds) is one for all server processes.
A successful sign-in clears the username's count, not the address's: one account an attacker
holds must not reset the count of the address they guess others' passwords from.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from trackflow.auth.credentials import Accounts
from trackflow.config import Settings
from trackflow.entities.auth import User, UserSession
from trackflow.store.sql.session_store import SqlSessionStore

SESSION_COOKIE = "trackflow_session"
LOGIN_CSRF_COOKIE = "trackflow_login_csrf"  # double-submit token of the login form (login CSRF)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_PATHS = frozenset({"/login", "/logout", "/login/oidc", "/login/oidc/callback"})  # open: they sign in
TOUCH_EVERY = timedelta(seconds=60)  # how stale a session's "last seen" may get
log = logging.getLogger(__name__)


def session_secret(settings: Settings) -> str:
    """The configured secret, else the key file in home (made on first use, mode 0600)."""
    if settings.session_secret:
        return settings.session_secret
    path = Path(settings.home_path) / "session.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
    except FileExistsError:
        pass
    return path.read_text().strip()


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    id: str


class Sessions:
    """Starts, checks and ends the sessions behind session cookies."""

    def __init__(self, store: SqlSessionStore, secret: str, hours: float, secure: bool) -> None:
        self.store = store
        self.max_age = int(hours * 3600)
        self.secure = secure  # Secure flag always, not only on https requests (behind a TLS proxy)
        self._signer = URLSafeTimedSerializer(secret, salt="trackflow-session")

    def start(self, username: str, request: Request, method: str, now: datetime) -> str:
        """A new session of ``username``, kept in the store; returns the cookie's value."""
        session = UserSession(secrets.token_hex(16), username, now, now, client_of(request),
                              request.headers.get("user-agent", ""), method, secrets.token_urlsafe(24))
        self.store.create_session(session, expired_before=now - timedelta(seconds=self.max_age))
        return self._signer.dumps({"s": session.id})

    def session_id(self, cookie: str | None) -> str | None:
        """The id a cookie carries, if its signature holds and it is not too old."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # SignatureExpired included
            return None
        return data.get("s") if isinstance(data, dict) and isinstance(data.get("s"), str) else None

    def session_of(self, cookie: str | None, now: datetime) -> Session | None:
        """The live session a cookie proves, or None (missing, forged, expired, revoked, user gone)."""
        session_id = self.session_id(cookie)
        found = self.store.session_user(session_id) if session_id else None
        if found is None:
            return None
        session, user = found
        if session.created_at < now - timedelta(seconds=self.max_age):
            return None
        if now - session.last_seen_at >= TOUCH_EVERY:  # not a write on every request
            self.store.touch(session.id, now)
        return Session(user, session.csrf, session.id)

    def set_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age, httponly=True, samesite="lax",
                            secure=self.secure or request.url.scheme == "https", path="/")


class LoginLimiter:
    """Failed logins per key (username, client address) in a sliding window, counted in the
    database so every server process sees the same count."""

    def __init__(self, store: SqlSessionStore, limit: int, window: float) -> None:
        self.store = store
        self.limit = limit
        self.window = timedelta(seconds=window)

    def retry_after(self, keys: list[str], now: datetime) -> int:
        """Seconds until every key may try again; 0 when none is over the limit."""
        wait = 0.0
        for key in keys:
            recent = self.store.failures_since(key, now - self.window, self.limit)
            if len(recent) >= self.limit:  # the limit-th newest failure leaves the window last
                wait = max(wait, (recent[-1] + self.window - now).total_seconds())
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, keys: list[str], now: datetime) -> None:
        self.store.record_failure(keys, now, self.window)

    def succeeded(self, username: str) -> None:
        self.store.clear_failures(user_key(username))


def user_key(username: str) -> str:
    return "user:" + username


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def limit_keys(username: str, request: Request) -> list[str]:
    return [user_key(username), "addr:" + client_of(request)]


def audit_sign_in(accounts: Accounts, request: Request, username: str | None, status: int,
                  attempted: str = "") -> None:
    """One audit entry of a sign-in or sign-out at the request's path; never fails the request."""
    try:
        accounts.store.record_audit(datetime.now(UTC), username, request.method, request.url.path,
                                    urlencode({"username": attempted}) if attempted else "", status,
                                    client_of(request))
    except Exception:  # the sign-in stands; a lost audit line is logged loudly
        log.exception("could not write the audit log entry of %s %s", request.method, request.url.path)


def signed_in(accounts: Accounts, sessions: Sessions, request: Request, username: str, next_: str,
              method: str) -> Response:
    """The answer to a successful sign-in (password or OIDC): a new session, its cookie, and a
    redirect to where the user was going. Runs in a worker thread (database writes)."""
    response = RedirectResponse(safe_next(next_), status_code=303)
    sessions.set_cookie(response, request, sessions.start(username, request, method, datetime.now(UTC)))
    audit_sign_in(accounts, request, username, 303)
    return response


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (another host, //host, a control
    character that would split the Location header) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


def login_url(path: str, query: str) -> str:
    return "/login?next=" + quote(path + ("?" + query if query else ""), safe="")
