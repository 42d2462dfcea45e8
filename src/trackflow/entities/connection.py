"""Airflow's Connection: where and how a DAG reaches an outside system (host, login, password,
port, extra JSON object). ``get_uri()`` and ``Connection.from_uri()`` follow Airflow 3's URI
format exactly (the same stdlib parsing, so the same quirks: ``postgresql`` becomes
``postgres``, a ``-`` in the scheme becomes ``_``, the host is lower-cased, query values that
are JSON are decoded, and an extra that is no flat map of strings travels as ``__extra__``)."""

from __future__ import annotations

import json
from dataclasses import InitVar, dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from trackflow.errors import InvalidInput

EXTRA_KEY = "__extra__"


@dataclass
class Connection:
    conn_id: str | None = None
    conn_type: str | None = None
    description: str | None = None
    host: str | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None
    port: int | None = None
    extra: str | None = None  # a JSON text, as Airflow stores it
    uri: InitVar[str | None] = None  # Airflow's ``Connection(conn_id=..., uri=...)``

    def __post_init__(self, uri: str | None) -> None:
        if uri is not None:
            if any(getattr(self, f.name) is not None for f in fields(self) if f.name not in ("conn_id", "description")):
                raise InvalidInput(f"connection {self.conn_id!r}: give either a URI or its fields, not both")
            parsed = Connection.from_uri(uri)
            for f in fields(self):
                if f.name not in ("conn_id", "description"):
                    setattr(self, f.name, getattr(parsed, f.name))
        if isinstance(self.extra, dict):  # Airflow accepts a dict and keeps its JSON
            self.extra = json.dumps(self.extra)
        if self.extra is not None:
            try:
                extra = json.loads(self.extra)
            except ValueError:
                extra = None
            if not isinstance(extra, dict):
                raise InvalidInput(f"connection {self.conn_id!r}: extra must be a JSON object, got {self.extra!r}")
        if self.port is not None and not isinstance(self.port, int):
            try:
                self.port = int(self.port)
            except (TypeError, ValueError):
                raise InvalidInput(f"connection {self.conn_id!r}: port must be an integer, got {self.port!r}") from None

    def __repr__(self) -> str:  # never the password or the extra (they may hold secrets)
        return f"Connection(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, host={self.host!r})"

    @property
    def extra_dejson(self) -> dict[str, Any]:
        """The extra as a dict ({} when empty or not a JSON object), as Airflow's."""
        if not self.extra:
            return {}
        try:
            value = json.loads(self.extra)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def get_uri(self) -> str:
        """This connection as Airflow's URI (``conn-type://login:password@host:port/schema?extra``)."""
        uri = f"{self.conn_type.lower().replace('_', '-')}://" if self.conn_type else "//"
        protocol, host = self.host.split("://", 1) if self.host and "://" in self.host else (None, self.host)
        if protocol and protocol == self.conn_type:  # Airflow 3 keeps such a host whole, quoted
            protocol, host = None, self.host
        if protocol:
            uri += f"{protocol}://"
        authority = ""
        if self.login is not None:
            authority += quote(self.login, safe="")
        if self.password is not None:
            authority += ":" + quote(self.password, safe="")
        if authority:
            authority += "@"
            uri += authority
        host_block = quote(host, safe="") if host else ""
        if self.port:
            host_block += f"@:{self.port}" if not host_block and not authority else f":{self.port}"
        if self.schema:
            host_block += f"/{quote(self.schema, safe='')}"
        uri += host_block
        if self.extra:
            try:
                query: str | None = urlencode(self.extra_dejson)
            except TypeError:
                query = None
            separator = "?" if self.schema else "/?"
            flat = all(isinstance(v, str) for v in self.extra_dejson.values())
            if flat and query and self.extra_dejson == dict(parse_qsl(query, keep_blank_values=True)):
                uri += separator + query
            else:  # not a flat map of strings: the JSON itself, under one key
                uri += separator + urlencode({EXTRA_KEY: self.extra})
        return uri

    @classmethod
    def from_uri(cls, uri: str, conn_id: str | None = None, description: str | None = None) -> Connection:
        """The connection an Airflow URI describes; InvalidInput naming it when it is malformed."""
        if not isinstance(uri, str) or uri.count("://") > 2 or "://" not in uri:
            raise InvalidInput(f"invalid connection URI {uri!r}: expected conn-type://login:password@host:port/schema")
        with_protocol = uri.count("://") == 2
        try:
            scheme = urlsplit(uri).scheme
            rest = uri.replace(f"{scheme}://", "" if with_protocol else "//")
            if with_protocol and any(ch in rest.split("://", 1)[0] for ch in "@:"):
                raise ValueError("a host protocol after credentials")
            parts = urlsplit(rest)
            port = parts.port
        except ValueError as exc:
            raise InvalidInput(f"invalid connection URI {uri!r}: {exc}") from None
        host = _hostname(parts)
        protocol = parts.scheme if with_protocol else None
        conn = cls(conn_id=conn_id, description=description, uri=None,
                   conn_type="postgres" if scheme == "postgresql" else scheme.replace("-", "_"),
                   host=f"{protocol}://{host}" if protocol and host else host,
                   schema=unquote(parts.path[1:]) if parts.path[1:] else parts.path[1:],
                   login=unquote(parts.username) if parts.username else parts.username,
                   password=unquote(parts.password) if parts.password else parts.password,
                   port=port)
        if parts.query:
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            conn.extra = query[EXTRA_KEY] if EXTRA_KEY in query else json.dumps(
                {key: _json_or_text(value) for key, value in query.items()})
        return conn

    @classmethod
    def from_json(cls, text: str, conn_id: str | None = None) -> Connection:
        """Airflow's JSON form (an ``AIRFLOW_CONN_*`` value starting with ``{``)."""
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"connection {conn_id!r}: invalid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"connection {conn_id!r}: the JSON must be an object")
        known = {f.name for f in fields(cls)} - {"conn_id"}
        unknown = set(data) - known
        if unknown:
            raise InvalidInput(f"connection {conn_id!r}: unknown field(s) {', '.join(sorted(unknown))}")
        return cls(conn_id=conn_id, **data)


def _json_or_text(value: str) -> Any:
    """A query value as Airflow 3 reads it: its JSON when it is JSON (``10`` -> 10), else the text."""
    if not value:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _hostname(parts: Any) -> str:
    hostname = unquote(parts.hostname or "")
    if "/" in hostname:  # an encoded path in the host (a socket path): keep it as written
        hostname = parts.netloc
        if "@" in hostname:
            hostname = hostname.rsplit("@", 1)[1]
        if ":" in hostname:
            hostname = hostname.split(":", 1)[0]
        hostname = unquote(hostname)
    return hostname
