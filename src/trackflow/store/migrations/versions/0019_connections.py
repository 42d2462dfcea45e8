"""Pipelines: Connections (Airflow's), their password and extra encrypted at rest.

Revision ID: 0019_connections
Revises: 0018_rendered_map_index
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_connections"
down_revision = "0018_rendered_map_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pl_connections",
        sa.Column("conn_id", sa.String(250), primary_key=True),
        sa.Column("conn_type", sa.String(500), nullable=False),
        sa.Column("description", sa.Text, nullable=True),
        sa.Column("host", sa.String(500), nullable=True),
        sa.Column("schema", sa.String(500), nullable=True),
        sa.Column("login", sa.Text, nullable=True),
        sa.Column("password", sa.Text, nullable=True),
        sa.Column("port", sa.Integer, nullable=True),
        sa.Column("extra", sa.Text, nullable=True),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pl_connections")
