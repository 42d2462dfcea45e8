"""Logged-model tables (MLflow 3's LoggedModel), on the shared ``metadata``.

Migration: ``migrations/versions/0011_logged_models.py``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text

from trackflow.store.sql.tables import metadata

BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

logged_models = Table(
    "logged_models",
    metadata,
    Column("model_id", String(36), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(500), nullable=False),
    Column("artifact_location", Text, nullable=False),
    Column("creation_timestamp_ms", BigInteger, nullable=False),
    Column("last_updated_timestamp_ms", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("lifecycle_stage", String(32), nullable=False, server_default="active"),
    Column("model_type", String(500)),
    Column("source_run_id", String(32)),  # no foreign key: MLflow keeps models of purged runs
    Column("status_message", Text),
    Index("ix_logged_models_experiment_created", "experiment_id", "creation_timestamp_ms"),
    Index("ix_logged_models_source_run", "source_run_id"),
)

logged_model_tags = Table(
    "logged_model_tags",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

logged_model_params = Table(
    "logged_model_params",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Metrics evaluated on a model. Like MLflow, one point per (model, key, timestamp, step, run):
# re-logging the same point keeps the first value. NaN is is_nan with value 0 (see tables.metrics).
logged_model_metrics = Table(
    "logged_model_metrics",
    metadata,
    Column("model_id", String(36), ForeignKey("logged_models.model_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("timestamp", BigInteger, primary_key=True),
    Column("step", BigInteger, primary_key=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), primary_key=True),
    Column("value", Float(precision=53), nullable=False),
    Column("is_nan", Boolean, nullable=False, server_default="0"),
    Column("dataset_name", String(500)),
    Column("dataset_digest", String(64)),
    Index("ix_logged_model_metrics_key_value", "key", "value"),
)

# Models a run produced (direction "output", with the step) or used ("input"), in logging order.
run_model_links = Table(
    "run_model_links",
    metadata,
    Column("link_id", BIG_ID, primary_key=True, autoincrement=True),
    Column("run_uuid", String(32), ForeignKey("runs.run_uuid", ondelete="CASCADE"), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("model_id", String(36), nullable=False),
    Column("step", BigInteger, nullable=False, server_default="0"),
    Index("ix_run_model_links_run", "run_uuid", "direction"),
)
