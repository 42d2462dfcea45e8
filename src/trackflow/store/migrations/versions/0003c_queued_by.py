"""Pipelines: which scheduler queued a task instance (several schedulers on PostgreSQL).

Revision ID: 0003c_queued_by
Revises: 0003b_scheduler_lease
"""

import sqlalchemy as sa
from alembic import op

revision = "0003c_queued_by"
down_revision = "0003b_scheduler_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pl_task_instances") as batch:
        batch.add_column(sa.Column("queued_by", sa.String(256)))


def downgrade() -> None:
    with op.batch_alter_table("pl_task_instances") as batch:
        batch.drop_column("queued_by")
