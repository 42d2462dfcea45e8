"""Engine set-up and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
BEGIN IMMEDIATE: writers queue on the file lock up front instead of failing with
"database is locked" when a read transaction tries to upgrade.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError
from sqlalchemy.pool import NullPool

from trackflow.errors import InvalidInput

SQLITE_BUSY_TIMEOUT_MS = 60_000
_upgrade_lock = threading.Lock()  # one migration at a time inside a process


def normalize_db_uri(uri: str) -> str:
    """Accept postgresql:// and postgres:// (psycopg 3 driver) and sqlite:///path."""
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri[len("postgres://") :]
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri[len("postgresql://") :]
    try:
        url = make_url(uri)
    except ArgumentError:
        raise InvalidInput(f"not a database URI: {uri!r}") from None
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise InvalidInput(f"unsupported database {url.get_backend_name()!r} in {uri!r}: use sqlite or postgresql")
    return uri


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA case_sensitive_like = ON")  # LIKE as in MLflow and PostgreSQL
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


class Database:
    """One engine per database URI, with read and write transaction helpers."""

    def __init__(self, uri: str) -> None:
        self.uri = normalize_db_uri(uri)
        url = make_url(self.uri)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        if self.is_sqlite:
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_engine(self.uri, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction. InvalidInput if the database refuses a value (see _refused_values)."""
        with _refused_values(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends, rolled back if it raises."""
        with _refused_values(), self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (idempotent; cheap when already current)."""
        if self.is_current():
            return
        from trackflow.store.migrations import upgrade  # alembic is only needed here

        with _upgrade_lock:
            upgrade(self.engine)

    def is_current(self) -> bool:
        """Whether every migration chain is at its newest revision."""
        from trackflow.store.migrations import HEADS

        try:
            with self.read() as conn:
                applied = {row[0] for row in conn.exec_driver_sql("SELECT version_num FROM alembic_version")}
        except DBAPIError:
            return False  # no alembic_version table yet
        return applied == HEADS

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _refused_values() -> Iterator[None]:
    """A value the database cannot store (PostgreSQL: NUL in text, a number out of range, a
    string longer than its column) is bad input, not a server error."""
    try:
        yield
    except DataError as exc:
        raise InvalidInput(f"the database refused a value: {str(exc.orig).strip().splitlines()[0]}") from None


def single_connection_engine(uri: str) -> Engine:
    """An engine without pooling, for one-off maintenance commands."""
    return create_engine(normalize_db_uri(uri), poolclass=NullPool)
