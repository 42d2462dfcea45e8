"""Asset tables (SQLAlchemy Core), on the shared ``metadata``. Times are epoch milliseconds."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, text

from trackflow.store.sql.tables import metadata

ID = String(250)
ASSET_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

assets = Table(
    "pl_assets",
    metadata,
    Column("id", ASSET_ID, primary_key=True, autoincrement=True),
    Column("name", String(1500), nullable=False, unique=True),
    Column("uri", String(1500), nullable=False),
    Column("asset_group", String(1500), nullable=False, server_default="asset"),
    Column("extra", Text, nullable=False, server_default="{}"),
    Column("created_at", BigInteger, nullable=False),
)

asset_events = Table(
    "pl_asset_events",
    metadata,
    Column("id", ASSET_ID, primary_key=True, autoincrement=True),
    Column("asset_id", ASSET_ID, ForeignKey("pl_assets.id", ondelete="CASCADE"), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("extra", Text, nullable=False, server_default="{}"),
    Column("source", String(32), nullable=False),
    Column("source_dag_id", ID),
    Column("source_run_id", ID),
    Column("source_task_id", ID),
    Column("source_map_index", Integer, nullable=False, server_default="-1"),
    Column("partition_key", String(250)),
    Index("ix_pl_asset_events_asset", "asset_id", "id"),
)

# Which DAGs are scheduled on which assets (from the parsed DAG files).
asset_consumers = Table(
    "pl_asset_consumers",
    metadata,
    Column("asset_name", String(1500), primary_key=True),
    Column("dag_id", ID, primary_key=True),
    Column("partition_mapper", Text),  # JSON of the mapper, for a DAG scheduled on the asset's partitions
)

# Assets updated since a consuming DAG's last asset-triggered run (Airflow's AssetDagRunQueue).
asset_queue = Table(
    "pl_asset_queue",
    metadata,
    Column("asset_id", ASSET_ID, ForeignKey("pl_assets.id", ondelete="CASCADE"), primary_key=True),
    Column("dag_id", ID, primary_key=True),
    Column("created_at", BigInteger, nullable=False),
)

# The events a DAG run consumed (the ones that triggered it).
run_asset_events = Table(
    "pl_run_asset_events",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("event_id", ASSET_ID, ForeignKey("pl_asset_events.id", ondelete="CASCADE"), primary_key=True),
)

# Which assets each AssetAlias resolved to (a task added an event for the asset through it).
asset_aliases = Table(
    "pl_asset_aliases",
    metadata,
    Column("alias_name", String(1500), primary_key=True),
    Column("asset_name", String(1500), primary_key=True),
)

# Which DAGs are scheduled on an AssetAlias (they consume the assets it resolves to).
alias_consumers = Table(
    "pl_asset_alias_consumers",
    metadata,
    Column("alias_name", String(1500), primary_key=True),
    Column("dag_id", ID, primary_key=True),
)

# A run of a partition-scheduled DAG for one downstream partition key: pending (run_id NULL)
# until the keys that reached it satisfy the DAG's condition, then the run it became.
partition_runs = Table(
    "pl_asset_partition_runs",
    metadata,
    Column("id", ASSET_ID, primary_key=True, autoincrement=True),
    Column("dag_id", ID, nullable=False),
    Column("partition_key", String(250), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("run_id", ID),
    Index("ix_pl_asset_partition_runs_pending", "dag_id", "partition_key", unique=True,
          sqlite_where=text("run_id IS NULL"), postgresql_where=text("run_id IS NULL")),
)

# Which upstream event (asset, source key) reached which pending partition run.
partition_keys = Table(
    "pl_asset_partition_keys",
    metadata,
    Column("partition_run_id", ASSET_ID, ForeignKey("pl_asset_partition_runs.id", ondelete="CASCADE"),
           primary_key=True),
    Column("event_id", ASSET_ID, ForeignKey("pl_asset_events.id", ondelete="CASCADE"), primary_key=True),
    Column("asset_name", String(1500), nullable=False),
    Column("source_key", String(250), nullable=False),
)
