"""Auth tables (SQLAlchemy Core), on the shared ``metadata``. Times are epoch milliseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, false

from trackflow.store.sql.tables import metadata

users = Table(
    "auth_users",
    metadata,
    Column("username", String(150), primary_key=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default=false()),
    Column("created_at", BigInteger, nullable=False),
    Column("user_id", Integer),  # MLflow's user.id: 1, 2, ... in the order users were made
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

# Every change made through a server with auth on (audit.py): who, what, when, from where.
audit = Table(
    "auth_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("username", String(150)),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("query", Text, nullable=False, server_default=""),
    Column("status", Integer, nullable=False),
    Column("client", String(64), nullable=False, server_default=""),
    Index("ix_auth_audit_at", "at"),
    Index("ix_auth_audit_user", "username", "at"),
)

groups = Table(
    "auth_groups",
    metadata,
    Column("name", String(150), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

group_members = Table(
    "auth_group_members",
    metadata,
    Column("group_name", String(150), ForeignKey("auth_groups.name", ondelete="CASCADE"), primary_key=True),
    Column("username", String(150), ForeignKey("auth_users.username", ondelete="CASCADE"), primary_key=True),
)

# What a user or a group may do with one experiment, registered model or DAG (auth/permissions.py).
permissions = Table(
    "auth_permissions",
    metadata,
    Column("principal_kind", String(8), primary_key=True),  # user | group
    Column("principal", String(150), primary_key=True),
    Column("resource_type", String(32), primary_key=True),  # experiment | registered_model | dag
    Column("resource_id", String(500), primary_key=True),
    Column("permission", String(16), nullable=False),
    Index("ix_auth_permissions_resource", "resource_type", "resource_id"),
)

# Browser sessions (server/sessions.py): the cookie carries the signed id; deleting the row ends it.
user_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("username", String(150), ForeignKey("auth_users.username", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger, nullable=False),
    Column("client", String(64), nullable=False, server_default=""),
    Column("user_agent", String(300), nullable=False, server_default=""),
    Column("method", String(16), nullable=False, server_default="password"),
    Column("csrf", String(64), nullable=False),
    Index("ix_auth_sessions_user", "username"),
    Index("ix_auth_sessions_created", "created_at"),
)

# Failed sign-ins, one row each, keyed "user:<name>" or "addr:<ip>": every server process
# counts the same rows, so the limit holds across workers and replicas.
login_failures = Table(
    "auth_login_failures",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(300), nullable=False),
    Column("at", BigInteger, nullable=False),
    Index("ix_auth_login_failures_key", "key", "at"),
    Index("ix_auth_login_failures_at", "at"),
)
