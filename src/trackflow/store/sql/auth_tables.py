"""Auth tables (SQLAlchemy Core), on the shared ``metadata``. Times are epoch milliseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, String, Table, false

from trackflow.store.sql.tables import metadata

users = Table(
    "auth_users",
    metadata,
    Column("username", String(150), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("created_at", BigInteger, nullable=False),
)

tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(150), ForeignKey("auth_users.username", ondelete="CASCADE"), nullable=False),
    Column("name", String(150), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
)
