"""Deployment-wide settings recorded in the database (the artifacts destination), so every
client that opens the database stores and finds artifacts where the server does.

Revision ID: 0010_deployment
Revises: 0001_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_deployment"
down_revision = "0001_tracking"
branch_labels = ("deployment",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_time", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deployment_settings")
