"""The web UI's sign-in, when ``settings.auth`` is on: a login form, a signed session cookie,
CSRF tokens and a limit on failed logins.

The session is a cookie signed with itsdangerous (the library Starlette's SessionMiddleware
uses), not a server-side row: it carries the username, a fingerprint of the user's password
hash (changing the password ends every session), and the session's CSRF token. Every worker
of a ``--workers K`` server verifies it with the same key, read from ``session_secret`` or a
key file in ``$TRACKFLOW_HOME`` made on first use. Signing is timed: a cookie older than
``session_hours`` is refused even if a browser kept it.

Failed logins are counted in process memory, per username and per client address: with K
workers an attacker gets at most K times the limit, still far too few to guess an argon2
password.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from fastapi import Request
from fastapi.responses import Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from trackflow.auth.credentials import Accounts
from trackflow.config import Settings
from trackflow.entities.auth import User

SESSION_COOKIE = "trackflow_session"
LOGIN_CSRF_COOKIE = "trackflow_login_csrf"  # double-submit token of the login form (login CSRF)
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
LOGIN_PATHS = frozenset({"/login", "/logout"})
MAX_FAILURES = 10
FAILURE_WINDOW = 300.0  # seconds


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


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str


class Sessions:
    """Makes and checks session cookies."""

    def __init__(self, accounts: Accounts, secret: str, hours: float, secure: bool) -> None:
        self.accounts = accounts
        self.max_age = int(hours * 3600)
        self.secure = secure  # Secure flag always, not only on https requests (behind a TLS proxy)
        self._signer = URLSafeTimedSerializer(secret, salt="trackflow-session")

    def cookie_value(self, username: str) -> str:
        found = self.accounts.store.password_hash(username)
        assert found is not None
        return self._signer.dumps({"u": username, "p": _fingerprint(found[1]), "c": secrets.token_urlsafe(24)})

    def session_of(self, cookie: str | None) -> Session | None:
        """The live session a cookie proves, or None (missing, forged, expired, user gone or
        password changed)."""
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # SignatureExpired included
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in "upc"):
            return None
        found = self.accounts.store.password_hash(data["u"])
        if found is None or not hmac.compare_digest(_fingerprint(found[1]), data["p"]):
            return None
        return Session(found[0], data["c"])

    def set_cookie(self, response: Response, request: Request, value: str) -> None:
        response.set_cookie(SESSION_COOKIE, value, max_age=self.max_age, httponly=True, samesite="lax",
                            secure=self.secure or request.url.scheme == "https", path="/")


class LoginLimiter:
    """Failed logins per key (username, client address) in a sliding window."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, keys: list[str], now: float) -> int:
        """Seconds until a key may try again; 0 when none is over the limit."""
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._prune(key, now)
                if len(times) >= self.limit:
                    wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > 100_000:  # bounded: a flood of distinct names cannot grow it
                self._failures.clear()
            for key in keys:
                self._prune(key, now).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop("user:" + username, None)

    def _prune(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


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
