"""Pipelines: asset watchers — a trigger row that watches for an asset's updates.

Revision ID: 0015_asset_watchers
Revises: 0014_state_store
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_asset_watchers"
down_revision = "0014_state_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pl_triggers") as batch:
        batch.add_column(sa.Column("asset_name", sa.String(1500)))
        batch.add_column(sa.Column("asset_uri", sa.String(1500)))
        batch.add_column(sa.Column("asset_group", sa.String(1500)))
        batch.add_column(sa.Column("watcher_name", sa.String(1500)))
    # one row per watcher of an asset, whoever syncs them (task triggers have NULLs: no conflict)
    op.create_index("ix_pl_triggers_watcher", "pl_triggers", ["asset_name", "watcher_name"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_pl_triggers_watcher", "pl_triggers")
    with op.batch_alter_table("pl_triggers") as batch:
        for name in ("watcher_name", "asset_group", "asset_uri", "asset_name"):
            batch.drop_column(name)
