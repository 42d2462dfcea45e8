"""Pipelines: sensors that reschedule and tasks that defer to a trigger.

Revision ID: 0013_deferral
Revises: 0012_assets
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_deferral"
down_revision = "0012_assets"
branch_labels = None
depends_on = None

ID_INT = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "pl_triggers",
        sa.Column("id", ID_INT, primary_key=True, autoincrement=True),
        sa.Column("classpath", sa.String(1000), nullable=False),
        sa.Column("kwargs", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("triggerer", sa.String(256)),
        sa.Column("lease_until", sa.BigInteger),
    )
    with op.batch_alter_table("pl_task_instances") as batch:
        batch.add_column(sa.Column("next_method", sa.String(100)))
        batch.add_column(sa.Column("next_kwargs", sa.Text))
        batch.add_column(sa.Column("trigger_id", ID_INT))
        batch.add_column(sa.Column("trigger_timeout", sa.BigInteger))
        batch.add_column(sa.Column("reschedule_start", sa.BigInteger))


def downgrade() -> None:
    with op.batch_alter_table("pl_task_instances") as batch:
        for name in ("reschedule_start", "trigger_timeout", "trigger_id", "next_kwargs", "next_method"):
            batch.drop_column(name)
    op.drop_table("pl_triggers")
