"""Auth: users (argon2 password hashes, admin flag) and their API tokens (SHA-256 hashes;
the token itself is shown once).

Revision ID: 0020_auth
Revises: 0001_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_auth"
down_revision = "0001_tracking"
branch_labels = ("auth",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_users",
        sa.Column("username", sa.String(150), primary_key=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "auth_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("username", sa.String(150), sa.ForeignKey("auth_users.username", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("revoked_at", sa.BigInteger),
    )


def downgrade() -> None:
    op.drop_table("auth_tokens")
    op.drop_table("auth_users")
