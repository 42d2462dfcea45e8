"""Pipelines: the scheduler lease (one scheduler owns a database at a time).

Revision ID: 0003b_scheduler_lease
Revises: 0003_pipelines
"""

import sqlalchemy as sa
from alembic import op

revision = "0003b_scheduler_lease"
down_revision = "0003_pipelines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pl_scheduler_lease",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pl_scheduler_lease")
