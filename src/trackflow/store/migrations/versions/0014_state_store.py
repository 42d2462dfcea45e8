"""Pipelines: the task state store and the asset state store; AssetAlias scheduling.

Revision ID: 0014_state_store
Revises: 0013_deferral
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_state_store"
down_revision = "0013_deferral"
branch_labels = None
depends_on = None

ID = sa.String(250)


def upgrade() -> None:
    op.create_table(
        "pl_task_state",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("task_id", ID, primary_key=True),
        sa.Column("map_index", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("expires_at", sa.BigInteger),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pl_asset_state",
        sa.Column("asset_name", sa.String(1500), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


    op.create_table(
        "pl_asset_aliases",
        sa.Column("alias_name", sa.String(1500), primary_key=True),
        sa.Column("asset_name", sa.String(1500), primary_key=True),
    )
    op.create_table(
        "pl_asset_alias_consumers",
        sa.Column("alias_name", sa.String(1500), primary_key=True),
        sa.Column("dag_id", ID, primary_key=True),
    )


def downgrade() -> None:
    op.drop_table("pl_asset_alias_consumers")
    op.drop_table("pl_asset_aliases")
    op.drop_table("pl_asset_state")
    op.drop_table("pl_task_state")
