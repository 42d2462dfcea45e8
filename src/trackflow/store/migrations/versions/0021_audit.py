"""Auth: the audit log — every change made through a server with auth on: who, what, when,
from where, and how it ended.

Revision ID: 0021_audit
Revises: 0020_auth
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_audit"
down_revision = "0020_auth"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_audit",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("username", sa.String(150)),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("query", sa.Text, nullable=False, server_default=""),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("client", sa.String(64), nullable=False, server_default=""),
    )
    op.create_index("ix_auth_audit_at", "auth_audit", ["at"])
    op.create_index("ix_auth_audit_user", "auth_audit", ["username", "at"])


def downgrade() -> None:
    op.drop_table("auth_audit")
