"""Pipeline tables: DAGs, import errors, DAG runs, task instances and tries, outputs, lineage, pools.

Revision ID: 0003_pipelines
Revises: 0001_tracking
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_pipelines"
down_revision = "0001_tracking"
branch_labels = ("pipelines",)
depends_on = None

ID = sa.String(250)


def upgrade() -> None:
    op.create_table(
        "pl_dags",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("fileloc", sa.Text, nullable=False, server_default=""),
        sa.Column("is_paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("last_parsed", sa.BigInteger),
        sa.Column("spec_hash", sa.String(64), nullable=False, server_default=""),
        sa.Column("spec", sa.Text, nullable=False),
    )
    op.create_table(
        "pl_import_errors",
        sa.Column("fileloc", sa.String(1000), primary_key=True),
        sa.Column("stacktrace", sa.Text, nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pl_dag_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("dag_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("run_type", sa.String(20), nullable=False),
        sa.Column("logical_date", sa.BigInteger, nullable=False),
        sa.Column("data_interval_start", sa.BigInteger, nullable=False),
        sa.Column("data_interval_end", sa.BigInteger, nullable=False),
        sa.Column("run_after", sa.BigInteger, nullable=False),
        sa.Column("conf", sa.Text, nullable=False, server_default="{}"),
        sa.Column("queued_at", sa.BigInteger),
        sa.Column("start_date", sa.BigInteger),
        sa.Column("end_date", sa.BigInteger),
        sa.Column("tracking_run_id", sa.String(32)),
        sa.Column("experiment_id", sa.String(32)),
        sa.UniqueConstraint("dag_id", "run_id", name="uq_pl_dag_runs_dag_run"),
    )
    op.create_index("ix_pl_dag_runs_state", "pl_dag_runs", ["state"])
    op.create_index("ix_pl_dag_runs_dag_logical", "pl_dag_runs", ["dag_id", "logical_date"])
    op.create_table(
        "pl_task_instances",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("task_id", ID, primary_key=True),
        sa.Column("map_index", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(20)),
        sa.Column("try_number", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_tries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("priority_weight", sa.Integer, nullable=False, server_default="1"),
        sa.Column("pool", sa.String(256), nullable=False, server_default="default_pool"),
        sa.Column("pool_slots", sa.Integer, nullable=False, server_default="1"),
        sa.Column("operator", sa.String(100), nullable=False, server_default=""),
        sa.Column("queued_at", sa.BigInteger),
        sa.Column("start_date", sa.BigInteger),
        sa.Column("end_date", sa.BigInteger),
        sa.Column("next_retry_at", sa.BigInteger),
        sa.Column("heartbeat_at", sa.BigInteger),
        sa.Column("hostname", sa.String(256)),
        sa.Column("pid", sa.Integer),
        sa.Column("token", sa.String(32)),
        sa.Column("tracking_run_id", sa.String(32)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_pl_ti_state", "pl_task_instances", ["state"])
    op.create_table(
        "pl_task_tries",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("task_id", ID, primary_key=True),
        sa.Column("map_index", sa.Integer, primary_key=True),
        sa.Column("try_number", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(20)),
        sa.Column("start_date", sa.BigInteger),
        sa.Column("end_date", sa.BigInteger),
        sa.Column("hostname", sa.String(256)),
        sa.Column("pid", sa.Integer),
        sa.Column("tracking_run_id", sa.String(32)),
        sa.Column("log_path", sa.Text),
        sa.Column("log_artifact", sa.Text),
    )
    op.create_table(
        "pl_task_outputs",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("task_id", ID, primary_key=True),
        sa.Column("map_index", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("serializer", sa.String(20), nullable=False),
        sa.Column("data", sa.LargeBinary),
        sa.Column("uri", sa.Text),
        sa.Column("size_bytes", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("length", sa.Integer),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "pl_task_lineage",
        sa.Column("dag_id", ID, primary_key=True),
        sa.Column("run_id", ID, primary_key=True),
        sa.Column("producer_task_id", ID, primary_key=True),
        sa.Column("producer_map_index", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(250), primary_key=True),
        sa.Column("consumer_task_id", ID, primary_key=True),
        sa.Column("consumer_map_index", sa.Integer, primary_key=True),
    )
    op.create_table(
        "pl_pools",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("slots", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
    )
    op.execute("INSERT INTO pl_pools (name, slots, description) VALUES ('default_pool', 128, 'Default pool')")


def downgrade() -> None:
    for name in ("pl_pools", "pl_task_lineage", "pl_task_outputs", "pl_task_tries", "pl_task_instances",
                 "pl_dag_runs", "pl_import_errors", "pl_dags"):
        op.drop_table(name)
