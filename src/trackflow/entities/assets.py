"""Assets (Airflow 3's data-aware scheduling): named data a task produces, and the events
that say it was updated. A DAG scheduled on assets runs when their events arrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class AssetRecord:
    id: int
    name: str
    uri: str
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class AssetEvent:
    """One update of an asset, by a task (``source_*`` set), the API, the CLI or the registry."""

    id: int
    asset_name: str
    asset_uri: str
    timestamp: datetime
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = "task"  # task | api | registry
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_task_id: str | None = None
    source_map_index: int = -1
    partition_key: str | None = None


@dataclass(frozen=True)
class NewAssetEvent:
    """An event to record: the asset by name and uri (created on first use)."""

    name: str
    uri: str
    group: str = "asset"
    extra: dict[str, Any] = field(default_factory=dict)
    source: str = "task"
    source_dag_id: str | None = None
    source_run_id: str | None = None
    source_task_id: str | None = None
    source_map_index: int = -1
    alias: str | None = None  # added through this AssetAlias: the alias now resolves to the asset
    partition_key: str | None = None  # the partition written (partitioned assets)
