"""Assets: assets, their events, which DAGs consume them, the queue of updates waiting for a
consumer's next run, and the events each run consumed.

Revision ID: 0012_assets
Revises: 0003c_queued_by
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_assets"
down_revision = "0003c_queued_by"
branch_labels = None
depends_on = None

ID = sa.String(250)
ASSET_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "pl_assets",
        sa.Column("id", ASSET_ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(1500), nullable=False, unique=True),
        sa.Column("uri", sa.String(1500), nullable=False),
        sa.Column("asset_group", sa.String(1500), nullable=False, server_default="asset"),
        sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pl_asset_events",
        sa.Column("id", ASSET_ID, primary_key=True, autoincrement=True),
        sa.Column("asset_id", ASSET_ID, sa.ForeignKey("pl_assets.id", ondelete="CASCADE"), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("extra", sa.Text, nullable=False, server_default="{}"),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_dag_id", ID),
        sa.Column("source_run_id", ID),
        sa.Column("source_task_id", ID),
        sa.Column("source_map_index", sa.Integer, nullable=False, server_default="-1"),
    )
    op.create_index("ix_pl_asset_events_asset", "pl_asset_events", ["asset_id", "id"])
    op.create_table(
        "pl_asset_consumers",
        sa.Column("asset_name", sa.String(1500), primary_key=True),
        sa.Column("dag_id", ID, primary_key=True),
    )
    op.create_table(
        "pl_asset_queue",
        sa.Column("asset_id", ASSET_ID, sa.ForeignKey("pl_assets.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pl_run_asset_events",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("event_id", ASSET_ID, sa.ForeignKey("pl_asset_events.id", ondelete="CASCADE"), primary_key=True),
    )


def downgrade() -> None:
    for name in ("pl_run_asset_events", "pl_asset_queue", "pl_asset_consumers", "pl_asset_events", "pl_assets"):
        op.drop_table(name)
