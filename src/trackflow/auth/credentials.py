"""Passwords (argon2id), API tokens (random, stored as SHA-256) and who a request's
``Authorization`` header says it is — HTTP Basic (what MLflow's client sends with
``MLFLOW_TRACKING_USERNAME``/``PASSWORD``) or Bearer (``MLFLOW_TRACKING_TOKEN``,
``TRACKFLOW_TRACKING_TOKEN``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import threading
import time
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trackflow.entities.auth import ApiToken, User
from trackflow.errors import InvalidInput
from trackflow.store.sql.auth_store import SqlAuthStore
from trackflow.store.sql.session_store import SqlSessionStore

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,149}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
TOKEN_PREFIX = "tf_"
# A checked Basic credential is trusted this long without hashing again: MLflow's client sends
# it on every request, and argon2 is slow on purpose. A deleted user or a changed password
# takes effect on the next check after that.
BASIC_CACHE_SECONDS = 30.0

_hasher = PasswordHasher()


def check_username(username: str, what: str = "username") -> str:
    """A user's (or a group's) name: 1-150 letters, digits and _ . @ -."""
    if not isinstance(username, str) or not USERNAME.match(username):
        raise InvalidInput(f"invalid {what} {username!r}: 1-150 letters, digits and _ . @ -, "
                           "starting with a letter or digit")
    return username


def check_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"a password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Accounts:
    """Users and tokens: creates them (hashing secrets) and tells who a header is."""

    def __init__(self, store: SqlAuthStore) -> None:
        self.store = store
        self.sessions = SqlSessionStore(store.db)  # the browser sessions and failed sign-ins
        self._basic: dict[str, tuple[User, float]] = {}  # sha256(header) -> user, checked until
        self._lock = threading.Lock()

    def create_user(self, username: str, password: str, is_admin: bool, now: datetime) -> User:
        return self.store.create_user(check_username(username), hash_password(password), is_admin, now)

    def set_password(self, username: str, password: str) -> None:
        self.store.set_password_hash(username, hash_password(password))
        self.forget()

    def set_admin(self, username: str, is_admin: bool) -> None:
        self.store.set_admin(username, is_admin)
        self.forget()

    def password_matches(self, username: str, password: str) -> bool:
        found = self.store.password_hash(username)
        if found is None:
            return False
        try:
            return _hasher.verify(found[1], password)
        except (VerificationError, InvalidHashError):
            return False

    def delete_user(self, username: str) -> None:
        self.store.delete_user(username)
        self.forget()

    def create_token(self, username: str, name: str, now: datetime) -> tuple[ApiToken, str]:
        """The token's record and the token itself (shown once; only its hash is kept)."""
        if not isinstance(name, str) or not name.strip() or len(name) > 150:
            raise InvalidInput(f"a token name must have 1 to 150 characters, got {name!r}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return self.store.create_token(username, name.strip(), token_hash(token), now), token

    def forget(self) -> None:
        with self._lock:
            self._basic.clear()

    def user_of(self, authorization: str | None) -> User | None:
        """The user an ``Authorization`` header proves, or None (missing, malformed, wrong)."""
        if not authorization:
            return None
        scheme, _, value = authorization.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer" and value:
            return self.store.user_of_token(token_hash(value))
        if scheme.lower() == "basic" and value:
            return self._basic_user(value)
        return None

    def _basic_user(self, value: str) -> User | None:
        key = token_hash(value)
        now = time.monotonic()
        with self._lock:
            cached = self._basic.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        found = self.store.password_hash(username) if sep else None
        if found is None:
            return None
        user, stored = found
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        with self._lock:
            if len(self._basic) > 10_000:  # bounded: a flood of distinct credentials cannot grow it
                self._basic.clear()
            self._basic[key] = (user, now + BASIC_CACHE_SECONDS)
        return user
