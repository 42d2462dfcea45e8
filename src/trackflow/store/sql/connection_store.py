"""Connections on SQLAlchemy Core. The password and the extra (where providers keep tokens and
keys) are stored encrypted with the deployment's Fernet key, as Variables' values are; the
other fields stay readable so a connection can be listed without decrypting anything."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import BigInteger, Column, Integer, String, Table, Text, delete, select

from trackflow.entities.connection import Connection
from trackflow.errors import InvalidInput, TrackflowError
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import to_ms
from trackflow.store.sql.rows import insert_for
from trackflow.store.sql.tables import metadata

connections = Table(
    "pl_connections",
    metadata,
    Column("conn_id", String(250), primary_key=True),
    Column("conn_type", String(500), nullable=False),
    Column("description", Text, nullable=True),
    Column("host", String(500), nullable=True),
    Column("schema", String(500), nullable=True),
    Column("login", Text, nullable=True),
    Column("password", Text, nullable=True),  # Fernet token
    Column("port", Integer, nullable=True),
    Column("extra", Text, nullable=True),  # Fernet token of the JSON text
    Column("updated_at", BigInteger, nullable=False),
)

MAX_ID = 250
MAX_FIELD = 500


def check_connection(conn: Connection) -> Connection:
    """``conn`` if it can be stored, else InvalidInput naming the field."""
    if not isinstance(conn.conn_id, str) or not conn.conn_id.strip() or len(conn.conn_id) > MAX_ID:
        raise InvalidInput(f"a conn_id must be a non-blank string of at most {MAX_ID} characters, got {conn.conn_id!r}")
    if not conn.conn_type:
        raise InvalidInput(f"connection {conn.conn_id!r}: conn_type is required")
    for name in ("conn_type", "host", "schema"):
        value = getattr(conn, name)
        if value is not None and len(value) > MAX_FIELD:
            raise InvalidInput(f"connection {conn.conn_id!r}: {name} is longer than {MAX_FIELD} characters")
    if conn.port is not None and not 0 < conn.port < 65536:
        raise InvalidInput(f"connection {conn.conn_id!r}: port must be between 1 and 65535, got {conn.port}")
    return conn


class SqlConnectionStore:
    def __init__(self, db: Database, fernet: Fernet) -> None:
        self.db = db
        self.fernet = fernet

    def get(self, conn_id: str) -> Connection | None:
        """The connection, password and extra decrypted; None if there is none."""
        with self.db.read() as conn:
            row = conn.execute(select(connections).where(connections.c.conn_id == conn_id)).first()
        if row is None:
            return None
        return replace(self._listed(row), password=self._decrypt(conn_id, row.password),
                       extra=self._decrypt(conn_id, row.extra))

    def set(self, connection: Connection, now: datetime) -> None:
        """Create or replace the connection named by ``connection.conn_id``."""
        check_connection(connection)
        row = {"conn_id": connection.conn_id, "conn_type": connection.conn_type,
               "description": connection.description, "host": connection.host, "schema": connection.schema,
               "login": connection.login, "port": connection.port, "updated_at": to_ms(now),
               "password": self._encrypt(connection.password), "extra": self._encrypt(connection.extra)}
        with self.db.write() as conn:
            statement = insert_for(conn, connections).values(**row)
            conn.execute(statement.on_conflict_do_update(index_elements=["conn_id"], set_={
                k: statement.excluded[k] for k in row if k != "conn_id"}))

    def delete(self, conn_id: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(delete(connections).where(connections.c.conn_id == conn_id)).rowcount)

    def list(self) -> list[Connection]:
        """Every connection without its password and extra (nothing is decrypted)."""
        with self.db.read() as conn:
            rows = conn.execute(select(connections).order_by(connections.c.conn_id)).all()
        return [self._listed(r) for r in rows]

    @staticmethod
    def _listed(row: object) -> Connection:
        return Connection(conn_id=row.conn_id, conn_type=row.conn_type, description=row.description,  # type: ignore[attr-defined]
                          host=row.host, schema=row.schema, login=row.login, port=row.port)  # type: ignore[attr-defined]

    def _encrypt(self, value: str | None) -> str | None:
        return None if value is None else self.fernet.encrypt(value.encode()).decode()

    def _decrypt(self, conn_id: str, stored: str | None) -> str | None:
        if stored is None:
            return None
        try:
            return self.fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise TrackflowError(f"connection {conn_id!r} cannot be decrypted with this deployment's key "
                                 "(fernet_key / TRACKFLOW_FERNET_KEY differs from the one that wrote it)") from None
