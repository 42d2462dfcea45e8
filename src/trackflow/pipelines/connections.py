"""Connections, as Airflow's: ``BaseHook.get_connection("my_db")`` in DAG code (also through the
Airflow import shim: ``from airflow.hooks.base import BaseHook``), ``{{ conn.my_db.host }}`` in
templates, ``trackflow connections ...`` and /api/v1/connections to manage them.

Lookup order, as Airflow's default secrets backends: an ``AIRFLOW_CONN_<CONN_ID>`` environment
variable (a URI, or JSON starting with ``{``) of the process asking, then the stored ones
(password and extra encrypted at rest with the Variables' Fernet key). A password read in a task
is masked (``***``) in its log, and so is an extra's value under a key that looks secret.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from trackflow.config import Settings
from trackflow.entities.connection import Connection
from trackflow.errors import NotFound
from trackflow.pipelines.authoring.exceptions import AirflowNotFoundException
from trackflow.pipelines.runtime import masking
from trackflow.pipelines.variables import fernet_for

__all__ = ["BaseHook", "Connection", "ConnectionBackend", "AirflowNotFoundException"]

_channel: ContextVar[Any] = ContextVar("trackflow_connection_channel", default=None)
ENV_PREFIX = "AIRFLOW_CONN_"


def bind(channel: Any) -> None:
    """Connections of this task process are read through its try's channel."""
    _channel.set(channel)


def from_environment(conn_id: str, environ: Any = None) -> Connection | None:
    """The connection an ``AIRFLOW_CONN_<CONN_ID>`` variable defines, if any. The environment
    is read here, not through Settings: it is a secrets source of the asking process (a task on
    a worker sees the worker's), exactly as Airflow's environment-variables backend."""
    text = (os.environ if environ is None else environ).get(ENV_PREFIX + conn_id.upper())
    if not text:
        return None
    if text.lstrip().startswith("{"):
        return Connection.from_json(text, conn_id=conn_id)
    return Connection.from_uri(text, conn_id=conn_id)


class ConnectionBackend:
    """Outside a task: the configured database, or a server's /api/v1 when the tracking URI is its URL."""

    def __init__(self, settings: Settings) -> None:
        from trackflow.pipelines.state_access import server_or_database
        from trackflow.store.sql.connection_store import SqlConnectionStore

        self.http: Any
        self.store: Any
        self.http, self.store = server_or_database(settings, lambda db: SqlConnectionStore(db, fernet_for(settings)))

    def get_connection(self, conn_id: str) -> Connection | None:
        if self.http is None:
            return self.store.get(conn_id)  # type: ignore[no-any-return]
        try:
            return to_connection(self.http.call("GET", f"/connections/{_quote(conn_id)}"))
        except NotFound:
            return None

    def list_connections(self) -> list[Connection]:
        """Every stored connection without its password and extra."""
        if self.http is not None:
            return [to_connection(c) for c in self.http.call("GET", "/connections")["connections"]]
        return list(self.store.list())

    def put_connection(self, connection: Connection) -> None:
        if self.http is not None:
            self.http.call("PUT", f"/connections/{_quote(str(connection.conn_id))}", to_wire(connection, secrets=True))
        else:
            self.store.set(connection, datetime.now(UTC))

    def delete_connection(self, conn_id: str) -> bool:
        if self.http is None:
            return bool(self.store.delete(conn_id))
        try:
            self.http.call("DELETE", f"/connections/{_quote(conn_id)}")
        except NotFound:
            return False
        return True


def to_wire(connection: Connection, secrets: bool) -> dict[str, Any]:
    """A connection as JSON; without ``secrets`` the password and extra are left out."""
    out = {"conn_id": connection.conn_id, "conn_type": connection.conn_type, "description": connection.description,
           "host": connection.host, "schema": connection.schema, "login": connection.login, "port": connection.port}
    if secrets:
        out |= {"password": connection.password, "extra": connection.extra}
    return out


def to_connection(data: dict[str, Any]) -> Connection:
    return Connection(**{k: data.get(k) for k in ("conn_id", "conn_type", "description", "host", "schema", "login",
                                                  "password", "port", "extra")})


def _quote(conn_id: str) -> str:
    return quote(conn_id, safe="")


def _where() -> Any:
    from trackflow.config import load_settings

    return _channel.get() or ConnectionBackend(load_settings())


class BaseHook:
    """Airflow's ``BaseHook``, for its ``get_connection`` (hooks of providers are not included)."""

    @classmethod
    def get_connection(cls, conn_id: str) -> Connection:
        """The connection (environment first, then the stored ones); AirflowNotFoundException
        if neither defines it. Its password is masked in this task's log from now on."""
        found = from_environment(conn_id) or _where().get_connection(conn_id)
        if found is None:
            raise AirflowNotFoundException(f"The conn_id `{conn_id}` isn't defined")
        if found.password:  # as printed, and as it appears inside a printed URI
            for form in {found.password, quote(found.password, safe=""), quote(found.password)}:
                masking.mask_if_secret("password", form)
        for key, value in found.extra_dejson.items():  # an extra's token, api_key, ... too, as Airflow
            if isinstance(value, str):
                masking.mask_if_secret(key, value)
        return found  # type: ignore[no-any-return]


class ConnectionAccessor:
    """``conn`` in templates and the context: ``{{ conn.my_db.host }}``, ``conn.get("my_db")``."""

    def __getattr__(self, conn_id: str) -> Connection:
        if conn_id.startswith("__"):
            raise AttributeError(conn_id)
        return BaseHook.get_connection(conn_id)

    def get(self, conn_id: str, default: Any = None) -> Any:
        try:
            return BaseHook.get_connection(conn_id)
        except AirflowNotFoundException:
            return default
