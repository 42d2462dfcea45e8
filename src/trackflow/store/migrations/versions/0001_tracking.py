"""Tracking tables: experiments, runs, params, tags, metrics, inputs; the Default experiment.

Revision ID: 0001_tracking
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_tracking"
down_revision = None
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False, server_default="active"),
        sa.Column("creation_time", sa.BigInteger),
        sa.Column("last_update_time", sa.BigInteger),
        sa.Column("deleted_time", sa.BigInteger),
        # Never reuse a purged experiment's id: old mlflow-artifacts:/<id> locations would alias.
        sqlite_autoincrement=True,
    )
    op.create_table(
        "experiment_tags",
        sa.Column(
            "experiment_id",
            sa.Integer,
            sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column(
            "experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("user_id", sa.String(256), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("start_time", sa.BigInteger),
        sa.Column("end_time", sa.BigInteger),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False, server_default="active"),
        sa.Column("deleted_time", sa.BigInteger),
        sa.Column("artifact_uri", sa.Text, nullable=False),
    )
    op.create_index("ix_runs_experiment_start", "runs", ["experiment_id", "start_time"])
    for name in ("params", "tags"):
        op.create_table(
            name,
            sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_index("ix_params_key_value", "params", ["key", "run_uuid"])
    op.create_index("ix_tags_key", "tags", ["key", "run_uuid"])
    op.create_table(
        "metrics",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_metrics_run_key_step", "metrics", ["run_uuid", "key", "step", "timestamp"])
    op.create_table(
        "latest_metrics",
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_latest_metrics_key_value", "latest_metrics", ["key", "value"])
    op.create_table(
        "run_inputs",
        sa.Column("run_uuid", sa.String(32), sa.ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
        sa.Column("name", sa.String(500), primary_key=True),
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("source_type", sa.String(36), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("schema", sa.Text),
        sa.Column("profile", sa.Text),
        sa.Column("tags_json", sa.Text, nullable=False, server_default="{}"),
    )
    # MLflow clients fall back to experiment "0" when none is set.
    op.execute(
        "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage) "
        "VALUES (0, 'Default', '', 'active')"
    )


def downgrade() -> None:
    for name in ("run_inputs", "latest_metrics", "metrics", "tags", "params", "runs", "experiment_tags", "experiments"):
        op.drop_table(name)
