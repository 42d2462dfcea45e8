"""Pipeline tables (SQLAlchemy Core), on the shared ``metadata``. Times are epoch milliseconds."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from trackflow.store.sql.tables import metadata

ID = String(250)
ID_INT = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

dags = Table(
    "pl_dags",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("fileloc", Text, nullable=False, server_default=""),
    Column("is_paused", Boolean, nullable=False, server_default="0"),
    Column("is_active", Boolean, nullable=False, server_default="1"),
    Column("last_parsed", BigInteger),
    Column("spec_hash", String(64), nullable=False, server_default=""),
    Column("spec", Text, nullable=False),
)

import_errors = Table(
    "pl_import_errors",
    metadata,
    Column("fileloc", String(1000), primary_key=True),
    Column("stacktrace", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

dag_runs = Table(
    "pl_dag_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dag_id", ID, nullable=False),
    Column("run_id", ID, nullable=False),
    Column("state", String(20), nullable=False),
    Column("run_type", String(20), nullable=False),
    Column("logical_date", BigInteger, nullable=False),
    Column("data_interval_start", BigInteger, nullable=False),
    Column("data_interval_end", BigInteger, nullable=False),
    Column("run_after", BigInteger, nullable=False),
    Column("conf", Text, nullable=False, server_default="{}"),
    Column("queued_at", BigInteger),
    Column("start_date", BigInteger),
    Column("end_date", BigInteger),
    Column("tracking_run_id", String(32)),
    Column("experiment_id", String(32)),
    Column("partition_key", String(250)),
    Column("partition_date", BigInteger),
    UniqueConstraint("dag_id", "run_id", name="uq_pl_dag_runs_dag_run"),
    Index("ix_pl_dag_runs_state", "state"),
    Index("ix_pl_dag_runs_dag_logical", "dag_id", "logical_date"),
)

task_instances = Table(
    "pl_task_instances",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("task_id", ID, primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("state", String(20)),
    Column("try_number", Integer, nullable=False, server_default="0"),
    Column("max_tries", Integer, nullable=False, server_default="0"),
    Column("priority_weight", Integer, nullable=False, server_default="1"),
    Column("pool", String(256), nullable=False, server_default="default_pool"),
    Column("pool_slots", Integer, nullable=False, server_default="1"),
    Column("operator", String(100), nullable=False, server_default=""),
    Column("queued_at", BigInteger),
    Column("start_date", BigInteger),
    Column("end_date", BigInteger),
    Column("next_retry_at", BigInteger),
    Column("heartbeat_at", BigInteger),
    Column("hostname", String(256)),
    Column("pid", Integer),
    Column("token", String(32)),
    Column("tracking_run_id", String(32)),
    Column("note", Text),
    Column("queued_by", String(256)),  # the scheduler that queued the current try (its lease holder name)
    Column("next_method", String(100)),
    Column("next_kwargs", Text),
    Column("trigger_id", ID_INT),
    Column("trigger_timeout", BigInteger),
    Column("reschedule_start", BigInteger),
    Column("rendered_map_index", String(250)),  # its map_index_template, rendered when the try ended
    Index("ix_pl_ti_state", "state"),
)

# What deferred task instances wait on: a trigger class and its arguments, run by a triggerer
# (the one that holds it until ``lease_until``).
triggers = Table(
    "pl_triggers",
    metadata,
    Column("id", ID_INT, primary_key=True, autoincrement=True),
    Column("classpath", String(1000), nullable=False),
    Column("kwargs", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("triggerer", String(256)),
    Column("lease_until", BigInteger),
    # set on an asset watcher's trigger (runs for good; each event updates the asset), NULL on a task's
    Column("asset_name", String(1500)),
    Column("asset_uri", String(1500)),
    Column("asset_group", String(1500)),
    Column("watcher_name", String(1500)),
    Index("ix_pl_triggers_watcher", "asset_name", "watcher_name", unique=True),
)

task_tries = Table(
    "pl_task_tries",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("task_id", ID, primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("try_number", Integer, primary_key=True),
    Column("state", String(20)),
    Column("start_date", BigInteger),
    Column("end_date", BigInteger),
    Column("hostname", String(256)),
    Column("pid", Integer),
    Column("tracking_run_id", String(32)),
    Column("log_path", Text),
    Column("log_artifact", Text),
)

task_outputs = Table(
    "pl_task_outputs",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("task_id", ID, primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("serializer", String(20), nullable=False),
    Column("data", LargeBinary),
    Column("uri", Text),
    Column("size_bytes", BigInteger, nullable=False, server_default="0"),
    Column("length", Integer),
    Column("created_at", BigInteger, nullable=False),
)

task_lineage = Table(
    "pl_task_lineage",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("producer_task_id", ID, primary_key=True),
    Column("producer_map_index", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("consumer_task_id", ID, primary_key=True),
    Column("consumer_map_index", Integer, primary_key=True),
)

pools = Table(
    "pl_pools",
    metadata,
    Column("name", String(256), primary_key=True),
    Column("slots", Integer, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
)

# One row ("scheduler"): who schedules this database until when (epoch ms). See
# SqlPipelineStore.acquire_scheduler_lease.
scheduler_lease = Table(
    "pl_scheduler_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(256), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
)

__all__ = ["dag_runs", "dags", "import_errors", "pools", "scheduler_lease", "task_instances", "task_lineage",
           "task_outputs", "task_tries"]
