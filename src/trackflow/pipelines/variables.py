"""Variables, as Airflow's ``Variable``: deployment-wide key/value settings that DAGs read
(``Variable.get("key")``, ``{{ var.value.key }}``, ``{{ var.json.key.field }}``) and tasks may
write. Values are encrypted at rest with the deployment's Fernet key (``fernet_key`` /
``TRACKFLOW_FERNET_KEY``, else one generated into ``$TRACKFLOW_HOME/fernet.key``), and a value
read under a key that looks secret (password, token, api_key, ...) is masked in task logs.

Inside a task the try's channel reads them (also over the task API, on a worker without the
key); elsewhere (DAG-file top level, scripts) the configured tracking URI does.
"""

from __future__ import annotations

import json
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from trackflow.config import Settings
from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.runtime import masking

_channel: ContextVar[Any] = ContextVar("trackflow_variable_channel", default=None)
_NOTSET = object()


def fernet_for(settings: Settings) -> Fernet:
    """The deployment's Fernet: the configured key, else the key file in home (made on first use)."""
    key = settings.fernet_key
    if not key:
        path = Path(settings.home_path) / "fernet.key"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(Fernet.generate_key().decode())
        except FileExistsError:
            pass
        key = path.read_text().strip()
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError):
        raise InvalidInput("fernet_key must be 32 url-safe base64-encoded bytes (Fernet.generate_key())") from None


def bind(channel: Any) -> None:
    """Variables of this task process go through its try's channel."""
    _channel.set(channel)


class VariableBackend:
    """Outside a task: the configured database or server."""

    def __init__(self, settings: Settings) -> None:
        from trackflow.pipelines.state_access import server_or_database
        from trackflow.store.sql.variable_store import SqlVariableStore

        self.http: Any
        self.store: Any
        self.http, self.store = server_or_database(settings, lambda db: SqlVariableStore(db, fernet_for(settings)))

    def get_variable(self, key: str) -> str | None:
        if self.http is None:
            return self.store.get(key)  # type: ignore[no-any-return]
        try:
            return str(self.http.call("GET", f"/variables/{_quote(key)}")["value"])
        except NotFound:
            return None

    def list_variables(self) -> list[dict[str, Any]]:
        """Keys and descriptions (never values)."""
        if self.http is not None:
            return list(self.http.call("GET", "/variables")["variables"])
        return [{"key": r.key, "description": r.description,
                 "updated_at": r.updated_at.isoformat() if r.updated_at else None} for r in self.store.list()]

    def put_variable(self, key: str, value: str | None, description: str | None) -> bool:
        from datetime import UTC, datetime

        if self.http is not None:
            if value is None:
                self.http.call("DELETE", f"/variables/{_quote(key)}")
            else:
                self.http.call("PUT", f"/variables/{_quote(key)}", {"value": value, "description": description})
            return True
        if value is None:
            return bool(self.store.delete(key))
        self.store.set(key, value, description, datetime.now(UTC))
        return True


def _quote(key: str) -> str:
    from urllib.parse import quote

    return quote(key, safe="")


def _where() -> Any:
    from trackflow.config import load_settings

    return _channel.get() or VariableBackend(load_settings())


class Variable:
    """``Variable.get(key, default=..., deserialize_json=False)``, ``Variable.set(key, value,
    description=None, serialize_json=False)``, ``Variable.delete(key)`` (Airflow's names)."""

    @staticmethod
    def get(key: str, default: Any = _NOTSET, deserialize_json: bool = False) -> Any:
        text = _where().get_variable(key)
        if text is None:
            if default is _NOTSET:
                raise KeyError(f"Variable {key} does not exist")
            return default
        masking.mask_if_secret(key, text)
        return json.loads(text) if deserialize_json else text

    @staticmethod
    def set(key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
        text = json.dumps(value) if serialize_json else value
        if not isinstance(text, str):
            raise InvalidInput(f"variable {key!r}: the value must be a string, or pass serialize_json=True")
        _where().put_variable(key, text, description)

    @staticmethod
    def delete(key: str) -> None:
        _where().put_variable(key, None, None)


class VariableAccessor:
    """``var.value`` / ``var.json`` in templates and the context: attributes and ``get()``."""

    def __init__(self, deserialize_json: bool) -> None:
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = None) -> Any:
        return Variable.get(key, default, deserialize_json=self._json)
