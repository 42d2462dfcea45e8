"""Variables on SQLAlchemy Core: each value is stored encrypted (Fernet: AES-128-CBC with an
HMAC), so a copy of the database does not give away the secrets DAGs keep in variables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import BigInteger, Column, String, Table, Text, delete, select

from trackflow.errors import InvalidInput, TrackflowError
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import from_ms, to_ms
from trackflow.store.sql.rows import insert_for
from trackflow.store.sql.tables import metadata

variables = Table(
    "pl_variables",
    metadata,
    Column("key", String(250), primary_key=True),
    Column("val", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("updated_at", BigInteger, nullable=False),
)

MAX_KEY = 250


@dataclass(frozen=True)
class VariableRecord:
    key: str
    description: str
    updated_at: datetime | None


def check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY:
        raise InvalidInput(f"a variable key must be a non-blank string of at most {MAX_KEY} characters, got {key!r}")
    return key


class SqlVariableStore:
    def __init__(self, db: Database, fernet: Fernet) -> None:
        self.db = db
        self.fernet = fernet

    def get(self, key: str) -> str | None:
        with self.db.read() as conn:
            stored = conn.execute(select(variables.c.val).where(variables.c.key == key)).scalar()
        if stored is None:
            return None
        try:
            return self.fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise TrackflowError(f"variable {key!r} cannot be decrypted with this deployment's key "
                                 "(fernet_key / TRACKFLOW_FERNET_KEY differs from the one that wrote it)") from None

    def set(self, key: str, value: str, description: str | None, now: datetime) -> None:
        check_key(key)
        if not isinstance(value, str):
            raise InvalidInput(f"variable {key!r}: the value must be a string (serialize_json=True for others)")
        row = {"key": key, "val": self.fernet.encrypt(value.encode()).decode(), "updated_at": to_ms(now)}
        if description is not None:
            row["description"] = description
        with self.db.write() as conn:
            statement = insert_for(conn, variables).values(**row)
            conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_={
                k: statement.excluded[k] for k in row if k != "key"}))

    def delete(self, key: str) -> bool:
        with self.db.write() as conn:
            return bool(conn.execute(delete(variables).where(variables.c.key == key)).rowcount)

    def list(self) -> list[VariableRecord]:
        """Every variable's key and description (never the values)."""
        with self.db.read() as conn:
            rows = conn.execute(select(variables.c.key, variables.c.description, variables.c.updated_at)
                                .order_by(variables.c.key)).all()
        return [VariableRecord(r.key, r.description, from_ms(r.updated_at)) for r in rows]
