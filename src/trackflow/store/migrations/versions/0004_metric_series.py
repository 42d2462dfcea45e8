"""The metrics index also holds value and is_nan, so a chart's series (range cut and
downsampled in SQL) is read from the index alone, never from the table's scattered rows.

Revision ID: 0004_metric_series
Revises: 0001_tracking
"""

from alembic import op

revision = "0004_metric_series"
down_revision = "0001_tracking"
branch_labels = ("tracking",)
depends_on = None

COLUMNS = ["run_uuid", "key", "step", "timestamp"]


def upgrade() -> None:
    op.create_index("ix_metrics_series", "metrics", [*COLUMNS, "value", "is_nan"])
    op.drop_index("ix_metrics_run_key_step", table_name="metrics")


def downgrade() -> None:
    op.create_index("ix_metrics_run_key_step", "metrics", COLUMNS)
    op.drop_index("ix_metrics_series", table_name="metrics")
