"""Logged models (MLflow 3's LoggedModel): models, their tags, params and metrics, and the
models runs produced or used.

Revision ID: 0011_logged_models
Revises: 0001_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_logged_models"
down_revision = "0001_tracking"
branch_labels = ("logged_models",)
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("model_id", sa.String(36), primary_key=True),
        sa.Column("experiment_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("artifact_location", sa.Text, nullable=False),
        sa.Column("creation_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("last_updated_timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("lifecycle_stage", sa.String(32), nullable=False, server_default="active"),
        sa.Column("model_type", sa.String(500)),
        sa.Column("source_run_id", sa.String(32)),
        sa.Column("status_message", sa.Text),
        sa.ForeignKeyConstraint(["experiment_id"], ["experiments.experiment_id"], ondelete="CASCADE"),
    )
    op.create_index("ix_logged_models_experiment_created", "logged_models", ["experiment_id", "creation_timestamp_ms"])
    op.create_index("ix_logged_models_source_run", "logged_models", ["source_run_id"])
    for name in ("logged_model_tags", "logged_model_params"):
        op.create_table(
            name,
            sa.Column("model_id", sa.String(36), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
            sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        )
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("timestamp", sa.BigInteger, primary_key=True),
        sa.Column("step", sa.BigInteger, primary_key=True),
        sa.Column("run_uuid", sa.String(32), primary_key=True),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("is_nan", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("dataset_name", sa.String(500)),
        sa.Column("dataset_digest", sa.String(64)),
        sa.ForeignKeyConstraint(["model_id"], ["logged_models.model_id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
    )
    op.create_index("ix_logged_model_metrics_key_value", "logged_model_metrics", ["key", "value"])
    op.create_table(
        "run_model_links",
        sa.Column("link_id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("model_id", sa.String(36), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(["run_uuid"], ["runs.run_uuid"], ondelete="CASCADE"),
    )
    op.create_index("ix_run_model_links_run", "run_model_links", ["run_uuid", "direction"])


def downgrade() -> None:
    for name in (
        "run_model_links",
        "logged_model_metrics",
        "logged_model_params",
        "logged_model_tags",
        "logged_models",
    ):
        op.drop_table(name)
