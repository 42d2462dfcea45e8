"""Auth: browser sessions kept on the server (listed and revoked one by one) and failed
sign-ins counted in the database (one limit for every server process).

Revision ID: 0023_sessions
Revises: 0022_permissions
"""

import sqlalchemy as sa
from alembic import op

revision = "0023_sessions"
down_revision = "0022_permissions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(150), sa.ForeignKey("auth_users.username", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen_at", sa.BigInteger, nullable=False),
        sa.Column("client", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(300), nullable=False, server_default=""),
        sa.Column("method", sa.String(16), nullable=False, server_default="password"),
        sa.Column("csrf", sa.String(64), nullable=False),
    )
    op.create_index("ix_auth_sessions_user", "auth_sessions", ["username"])
    op.create_index("ix_auth_sessions_created", "auth_sessions", ["created_at"])
    op.create_table(
        "auth_login_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_auth_login_failures_key", "auth_login_failures", ["key", "at"])
    op.create_index("ix_auth_login_failures_at", "auth_login_failures", ["at"])


def downgrade() -> None:
    op.drop_table("auth_login_failures")
    op.drop_table("auth_sessions")
