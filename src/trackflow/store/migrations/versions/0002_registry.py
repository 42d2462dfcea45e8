"""Model registry (registered models, versions, tags, aliases, event log) and the inference log.

Revision ID: 0002_registry
Revises: 0001_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_registry"
down_revision = "0001_tracking"
branch_labels = ("registry",)
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("next_version", sa.Integer, nullable=False, server_default="1"),
    )
    op.create_table(
        "registered_model_tags",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["name"], ["registered_models.name"], ondelete="CASCADE", onupdate="CASCADE"),
    )
    op.create_table(
        "model_versions",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
        sa.Column("last_updated_time", sa.BigInteger, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("user_id", sa.String(256), nullable=False, server_default=""),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("run_id", sa.String(32)),
        sa.Column("run_link", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("current_stage", sa.String(20), nullable=False, server_default="None"),
        sa.ForeignKeyConstraint(["name"], ["registered_models.name"], ondelete="CASCADE", onupdate="CASCADE"),
    )
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"], ["model_versions.name", "model_versions.version"],
            ondelete="CASCADE", onupdate="CASCADE",
        ),
    )
    op.create_table(
        "registered_model_aliases",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("alias", sa.String(256), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(
            ["name", "version"], ["model_versions.name", "model_versions.version"],
            ondelete="CASCADE", onupdate="CASCADE",
        ),
    )
    op.create_table(
        "registry_events",
        sa.Column("event_id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("alias", sa.String(256)),
        sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
    )
    op.create_index("ix_registry_events_name", "registry_events", ["name", "event_id"])
    op.create_table(
        "inference_log",
        sa.Column("record_id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(500), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("inputs", sa.Text, nullable=False),
        sa.Column("predictions", sa.Text, nullable=False),
    )
    op.create_index("ix_inference_log_endpoint_time", "inference_log", ["endpoint", "timestamp"])


def downgrade() -> None:
    for name in (
        "inference_log", "registry_events", "registered_model_aliases", "model_version_tags",
        "model_versions", "registered_model_tags", "registered_models",
    ):
        op.drop_table(name)
