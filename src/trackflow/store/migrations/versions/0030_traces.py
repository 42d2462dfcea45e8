"""GenAI traces: trace infos with their metadata and tags, spans, assessments, and the runs a
trace is linked to.

Revision ID: 0030_traces
Revises: 0011_logged_models
"""

import sqlalchemy as sa
from alembic import op

revision = "0030_traces"
down_revision = "0011_logged_models"
branch_labels = None
depends_on = None


def _trace_fk() -> sa.ForeignKey:
    return sa.ForeignKey("traces.trace_id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(50), primary_key=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.experiment_id"), nullable=False),
        sa.Column("request_time", sa.BigInteger, nullable=False),
        sa.Column("execution_duration", sa.BigInteger),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("request_preview", sa.Text),
        sa.Column("response_preview", sa.Text),
        sa.Column("client_request_id", sa.String(250)),
    )
    op.create_index("ix_traces_experiment_time", "traces", ["experiment_id", "request_time"])
    for name in ("trace_metadata", "trace_tags"):
        op.create_table(
            name,
            sa.Column("trace_id", sa.String(50), _trace_fk(), primary_key=True),
            sa.Column("key", sa.String(250), primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )
    op.create_index("ix_trace_metadata_key_value", "trace_metadata", ["key", "trace_id"])
    op.create_table(
        "trace_spans",
        sa.Column("trace_id", sa.String(50), _trace_fk(), primary_key=True),
        sa.Column("span_id", sa.String(16), primary_key=True),
        sa.Column("parent_span_id", sa.String(16)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("span_type", sa.String(100)),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("status_message", sa.Text, nullable=False, server_default=""),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger),
        sa.Column("kind", sa.Integer, nullable=False, server_default="1"),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False, server_default="[]"),
    )
    op.create_index("ix_trace_spans_order", "trace_spans", ["trace_id", "start_time_ns", "span_id"])
    op.create_table(
        "trace_runs",
        sa.Column("trace_id", sa.String(50), _trace_fk(), primary_key=True),
        sa.Column("run_id", sa.String(32), primary_key=True),
    )
    op.create_index("ix_trace_runs_run", "trace_runs", ["run_id"])
    op.create_table(
        "trace_assessments",
        sa.Column("assessment_id", sa.String(50), primary_key=True),
        sa.Column("trace_id", sa.String(50), _trace_fk(), nullable=False),
        sa.Column("name", sa.String(250), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("source_type", sa.String(20), nullable=False),
        sa.Column("source_id", sa.String(250), nullable=False, server_default=""),
        sa.Column("create_time", sa.BigInteger, nullable=False),
        sa.Column("last_update_time", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("error", sa.Text),
        sa.Column("rationale", sa.Text),
        sa.Column("assessment_metadata", sa.Text, nullable=False, server_default="{}"),
        sa.Column("span_id", sa.String(16)),
        sa.Column("run_id", sa.String(32)),
        sa.Column("overrides", sa.String(50)),
        sa.Column("valid", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_index("ix_trace_assessments_trace", "trace_assessments", ["trace_id", "create_time"])


def downgrade() -> None:
    for name in ("trace_assessments", "trace_runs", "trace_spans", "trace_tags", "trace_metadata", "traces"):
        op.drop_table(name)
