"""Pipelines: partitioned assets — a partition key on DAG runs and asset events, partitioned
consumers' mappers, and the pending partition runs with the upstream keys that reached them.

Revision ID: 0016_asset_partitions
Revises: 0015_asset_watchers
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_asset_partitions"
down_revision = "0015_asset_watchers"
branch_labels = None
depends_on = None

ASSET_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("pl_dag_runs") as batch:
        batch.add_column(sa.Column("partition_key", sa.String(250)))
        batch.add_column(sa.Column("partition_date", sa.BigInteger))
    with op.batch_alter_table("pl_asset_events") as batch:
        batch.add_column(sa.Column("partition_key", sa.String(250)))
    with op.batch_alter_table("pl_asset_consumers") as batch:
        batch.add_column(sa.Column("partition_mapper", sa.Text))
    op.create_table(
        "pl_asset_partition_runs",
        sa.Column("id", ASSET_ID, primary_key=True, autoincrement=True),
        sa.Column("dag_id", sa.String(250), nullable=False),
        sa.Column("partition_key", sa.String(250), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("run_id", sa.String(250)),
    )
    # one pending partition run per DAG and key, whoever records the event that opens it
    op.create_index("ix_pl_asset_partition_runs_pending", "pl_asset_partition_runs", ["dag_id", "partition_key"],
                    unique=True, sqlite_where=sa.text("run_id IS NULL"), postgresql_where=sa.text("run_id IS NULL"))
    op.create_table(
        "pl_asset_partition_keys",
        sa.Column("partition_run_id", ASSET_ID, sa.ForeignKey("pl_asset_partition_runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("event_id", ASSET_ID, sa.ForeignKey("pl_asset_events.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("asset_name", sa.String(1500), nullable=False),
        sa.Column("source_key", sa.String(250), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pl_asset_partition_keys")
    op.drop_index("ix_pl_asset_partition_runs_pending", "pl_asset_partition_runs")
    op.drop_table("pl_asset_partition_runs")
    with op.batch_alter_table("pl_asset_consumers") as batch:
        batch.drop_column("partition_mapper")
    with op.batch_alter_table("pl_asset_events") as batch:
        batch.drop_column("partition_key")
    with op.batch_alter_table("pl_dag_runs") as batch:
        batch.drop_column("partition_date")
        batch.drop_column("partition_key")
