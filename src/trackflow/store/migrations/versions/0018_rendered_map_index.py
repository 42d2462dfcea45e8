"""Pipelines: a mapped task instance's rendered map index (its ``map_index_template``, as Airflow's
``rendered_map_index``), shown by the API and UI beside the number.

Revision ID: 0018_rendered_map_index
Revises: 0017_variables
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_rendered_map_index"
down_revision = "0017_variables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pl_task_instances") as batch:
        batch.add_column(sa.Column("rendered_map_index", sa.String(250)))


def downgrade() -> None:
    with op.batch_alter_table("pl_task_instances") as batch:
        batch.drop_column("rendered_map_index")
