"""Registry tables and the inference log (SQLAlchemy Core, on the shared ``metadata``)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from trackflow.store.sql.tables import metadata

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    # versions are numbered from this counter so a deleted version's number is never reused
    Column("next_version", Integer, nullable=False, server_default="1"),
)

registered_model_tags = Table(
    "registered_model_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(["name"], ["registered_models.name"], ondelete="CASCADE", onupdate="CASCADE"),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("creation_time", BigInteger, nullable=False),
    Column("last_updated_time", BigInteger, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("user_id", String(256), nullable=False, server_default=""),
    Column("source", Text, nullable=False),
    Column("run_id", String(32)),
    Column("run_link", Text),
    Column("status", String(20), nullable=False),
    Column("status_message", Text),
    Column("current_stage", String(20), nullable=False, server_default="None"),
    ForeignKeyConstraint(["name"], ["registered_models.name"], ondelete="CASCADE", onupdate="CASCADE"),
    Index("ix_model_versions_run_id", "run_id"),
)

model_version_tags = Table(
    "model_version_tags",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE", onupdate="CASCADE"
    ),
)

registered_model_aliases = Table(
    "registered_model_aliases",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("alias", String(256), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(
        ["name", "version"], ["model_versions.name", "model_versions.version"], ondelete="CASCADE", onupdate="CASCADE"
    ),
)

registry_events = Table(
    "registry_events",
    metadata,
    Column("event_id", BIG_ID, primary_key=True, autoincrement=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("version", Integer),
    Column("alias", String(256)),
    Column("payload", Text, nullable=False, server_default="{}"),
    Index("ix_registry_events_name", "name", "event_id"),
)

inference_log = Table(
    "inference_log",
    metadata,
    Column("record_id", BIG_ID, primary_key=True, autoincrement=True),
    Column("endpoint", String(500), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("inputs", Text, nullable=False),
    Column("predictions", Text, nullable=False),
    Index("ix_inference_log_endpoint_time", "endpoint", "timestamp"),
)
