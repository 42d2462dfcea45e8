"""State stores (Airflow 3's task and asset state stores): small JSON values a task keeps
across its retries and deferrals, or per asset (e.g. a watermark). Times are epoch ms."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, String, Table, Text

from trackflow.store.sql.tables import metadata

ID = String(250)

task_state = Table(
    "pl_task_state",
    metadata,
    Column("dag_id", ID, primary_key=True),
    Column("run_id", ID, primary_key=True),
    Column("task_id", ID, primary_key=True),
    Column("map_index", Integer, primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Column("expires_at", BigInteger),  # None: never
    Column("updated_at", BigInteger, nullable=False),
)

asset_state = Table(
    "pl_asset_state",
    metadata,
    Column("asset_name", String(1500), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)
