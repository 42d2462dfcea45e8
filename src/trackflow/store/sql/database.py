"""Engine set-up and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
BEGIN IMMEDIATE: writers queue on the file lock up front instead of failing with
"database is locked" when a read transaction tries to upgrade.

Before that, trackflow's writers (threads and processes: the scheduler, task processes, the
API) take turns on an flock() of ``<database>-writer``: SQLite's busy handler polls a held
lock with growing sleeps (up to 100 ms), so under contention the lock sat free while every
writer slept; the kernel hands a released flock to the next waiter at once. SQLite's own
locking stays in force, so other programs writing the file are still safe.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.pool import NullPool

from trackflow.errors import InvalidInput, Unavailable

try:
    import fcntl
except ImportError:  # Windows: SQLite's locking alone
    fcntl = None  # type: ignore[assignment]

SQLITE_BUSY_TIMEOUT_MS = 60_000
_upgrade_lock = threading.Lock()  # one migration at a time inside a process
# Write-lock files whose turn the current thread holds, whichever Database object took it
# (thread state by nature: see Database._writer_turn).
_held_turns = threading.local()


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


def require_sqlite_directory(uri: str) -> None:
    """InvalidInput if ``uri`` names a SQLite file in a directory that does not exist: for a
    URI a user gave explicitly, a typo must not create directories (only the default home is
    created, by :class:`Database`)."""
    if not uri.startswith("sqlite:"):
        return
    database = make_url(normalize_db_uri(uri)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    directory = Path(database).expanduser().parent
    if not directory.is_dir():
        raise InvalidInput(f"directory {directory} does not exist (database URI {uri})")


SQLITE_SYNCHRONOUS = ("off", "normal", "full", "extra")


def _sqlite_synchronous(uri: str) -> tuple[str, str]:
    """The URI without trackflow's ``?synchronous=`` option, and that option (default ``normal``:
    WAL commits survive a process crash; ``full`` also survives power loss, at an fsync per commit)."""
    url = make_url(uri)
    value = url.query.get("synchronous", "normal")
    if not isinstance(value, str) or value.lower() not in SQLITE_SYNCHRONOUS:
        raise InvalidInput(f"synchronous={value!r} in {uri!r}: use one of {', '.join(SQLITE_SYNCHRONOUS)}")
    return url.difference_update_query(["synchronous"]).render_as_string(hide_password=False), value.upper()


def _configure_sqlite(engine: Engine, synchronous: str = "NORMAL") -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA case_sensitive_like = ON")  # LIKE as in MLflow and PostgreSQL
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _take_turn(fd: int, timeout: float = SQLITE_BUSY_TIMEOUT_MS / 1000) -> bool:
    """Take the writer flock, polling every few milliseconds (a blocking flock could wait
    forever behind a stopped process); False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.0005
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.004)


class Database:
    """One engine per database URI, with read and write transaction helpers."""

    def __init__(self, uri: str) -> None:
        self.uri = normalize_db_uri(uri)
        url = make_url(self.uri)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {}
        synchronous = "NORMAL"
        if self.is_sqlite:
            engine_uri, synchronous = _sqlite_synchronous(self.uri)
            url = make_url(engine_uri)
            if url.database and url.database != ":memory:":
                Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine = create_engine(url, **kwargs)
        self._writer_lock_path: str | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine, synchronous)
            if url.database and url.database != ":memory:" and fcntl is not None:
                self._writer_lock_path = str(Path(url.database).expanduser()) + "-writer"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction. InvalidInput if the database refuses a value (see _refused_values);
        Unavailable if it cannot be reached."""
        with _refused_values(), self._connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends, rolled back if it raises."""
        with _refused_values(), self._writer_turn(), self._connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                yield conn

    def _connect(self) -> Connection:
        """A connection, or Unavailable naming the database (password hidden) and the reason."""
        try:
            return self.engine.connect()
        except (OperationalError, InterfaceError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            where = self.engine.url.render_as_string(hide_password=True)
            raise Unavailable(f"cannot connect to the database {where}: {reason}") from None

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Wait for this writer's turn (SQLite files only; see the module docstring). A thread
        already inside a write transaction doesn't queue again: its nested writer would wait
        for itself, so it is left to SQLite's busy timeout as before."""
        path = self._writer_lock_path
        held: set[str] = _held_turns.__dict__.setdefault("paths", set())
        if path is None or path in held:
            yield
            return
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:  # e.g. a read-only directory: SQLite's locking alone
            fd = -1
        if fd >= 0 and not _take_turn(fd):
            os.close(fd)  # a writer holds its turn too long (stopped?): SQLite's own locking decides
            fd = -1
        try:
            held.add(path)
            yield
        finally:
            held.discard(path)
            if fd >= 0:
                # Unlock explicitly: a process forked meanwhile shares this open file, and
                # closing only our descriptor would leave the lock held by its copy.
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def upgrade(self) -> None:
        """Bring the schema to the newest revision (idempotent; cheap when already current).

        Processes starting at once on a new database take turns: on SQLite through the writer
        turn (Alembic's DDL in a deferred transaction would fail with "database is locked"
        beside another migrating process), on PostgreSQL through an advisory lock (env.py).
        Whoever comes second finds the schema current."""
        if self.is_current():
            return
        from trackflow.store.migrations import upgrade  # alembic is only needed here

        with _upgrade_lock, self._writer_turn():
            if not self.is_current():
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
    def rehearsal(self) -> Iterator[Database]:
        """A Database whose transactions all run on one connection, inside one write
        transaction that is rolled back at the end: store methods called on it really run
        (so the engine compiles and caches their statements, e.g. before forking task
        processes) and change nothing. Each of its transactions is a savepoint, so a store
        method that raises only undoes its own work. Holds the write lock while it lasts."""
        with _refused_values(), self._writer_turn(), self._connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            transaction = conn.begin()
            try:
                yield _Rehearsal(self, conn)
            finally:
                transaction.rollback()


class _Rehearsal(Database):
    """See :meth:`Database.rehearsal`: shares the engine, pins one connection."""

    def __init__(self, db: Database, conn: Connection) -> None:  # no engine of its own
        self.uri, self.is_sqlite, self.engine = db.uri, db.is_sqlite, db.engine
        self._conn = conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with _refused_values(), self._conn.begin_nested():
            yield self._conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with _refused_values(), self._conn.begin_nested():
            yield self._conn

    def upgrade(self) -> None:
        raise InvalidInput("a rehearsal cannot migrate the database")


@contextmanager
def _refused_values() -> Iterator[None]:
    """A value the database cannot store (PostgreSQL: NUL in text, a number out of range, a
    string longer than its column) is bad input, not a server error; a connection lost
    mid-transaction is Unavailable (503), not a server error either."""
    try:
        yield
    except DataError as exc:
        raise InvalidInput(f"the database refused a value: {str(exc.orig).strip().splitlines()[0]}") from None
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
        # The server went away mid-transaction (a restart, a failover): nothing was committed,
        # and the pool reconnects on the next checkout. Callers may retry.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise Unavailable(f"the connection to the database was lost: {reason}") from None


def single_connection_engine(uri: str) -> Engine:
    """An engine without pooling, for one-off maintenance commands."""
    uri = normalize_db_uri(uri)
    if make_url(uri).get_backend_name() == "sqlite":
        uri = _sqlite_synchronous(uri)[0]
    return create_engine(uri, poolclass=NullPool)
