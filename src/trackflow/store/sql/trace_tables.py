"""GenAI trace tables (SQLAlchemy Core) on the shared ``metadata``. Times: trace rows in epoch
ms (MLflow's TraceInfo), spans in epoch ns (OpenTelemetry's)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, true

from trackflow.store.sql.tables import metadata

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(50), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.experiment_id"), nullable=False),
    Column("request_time", BigInteger, nullable=False),
    Column("execution_duration", BigInteger),
    Column("state", String(20), nullable=False),
    Column("request_preview", Text),
    Column("response_preview", Text),
    Column("client_request_id", String(250)),
    Index("ix_traces_experiment_time", "experiment_id", "request_time"),
)

trace_metadata = Table(
    "trace_metadata",
    metadata,
    Column("trace_id", String(50), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_trace_metadata_key_value", "key", "trace_id"),
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", String(50), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

# Spans may arrive before their trace's info (OTLP export precedes StartTraceV3): logging
# spans creates the trace row they belong to when it is not there yet.
spans = Table(
    "trace_spans",
    metadata,
    Column("trace_id", String(50), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("span_id", String(16), primary_key=True),
    Column("parent_span_id", String(16)),
    Column("name", Text, nullable=False),
    Column("span_type", String(100)),
    Column("status", String(10), nullable=False),
    Column("status_message", Text, nullable=False, server_default=""),
    Column("start_time_ns", BigInteger, nullable=False),
    Column("end_time_ns", BigInteger),
    Column("kind", Integer, nullable=False, server_default="1"),
    Column("attributes", Text, nullable=False),  # JSON object of JSON-encoded values
    Column("events", Text, nullable=False, server_default="[]"),
    Index("ix_trace_spans_order", "trace_id", "start_time_ns", "span_id"),
)

# Runs a trace belongs to besides its mlflow.sourceRun (MLflow's link-to-run).
trace_runs = Table(
    "trace_runs",
    metadata,
    Column("trace_id", String(50), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", String(32), primary_key=True),
    Index("ix_trace_runs_run", "run_id"),
)

assessments = Table(
    "trace_assessments",
    metadata,
    Column("assessment_id", String(50), primary_key=True),
    Column("trace_id", String(50), ForeignKey("traces.trace_id", ondelete="CASCADE"), nullable=False),
    Column("name", String(250), nullable=False),
    Column("kind", String(12), nullable=False),  # feedback / expectation
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(250), nullable=False, server_default=""),
    Column("create_time", BigInteger, nullable=False),
    Column("last_update_time", BigInteger, nullable=False),
    Column("value", Text),  # JSON
    Column("error", Text),  # JSON
    Column("rationale", Text),
    Column("assessment_metadata", Text, nullable=False, server_default="{}"),  # JSON
    Column("span_id", String(16)),
    Column("run_id", String(32)),
    Column("overrides", String(50)),
    Column("valid", Boolean, nullable=False, server_default=true()),
    Index("ix_trace_assessments_trace", "trace_id", "create_time"),
)
