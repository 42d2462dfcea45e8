"""Pipelines: Variables (Airflow's key/value settings for DAGs), their values encrypted at rest.

Revision ID: 0017_variables
Revises: 0016_asset_partitions
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_variables"
down_revision = "0016_asset_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pl_variables",
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("val", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pl_variables")
