"""Assets and asset events on SQLAlchemy Core (SQLite and PostgreSQL).

An event is recorded together with its queue entries — one per DAG scheduled on the asset —
in one transaction; a DAG run created from the queue deletes the entries it consumed and
links their events in the transaction that creates the run (``consume_in``). So an event
starts each consumer's run exactly once, also across a scheduler crash: before the commit
nothing happened, after it the queue is empty.

The ``*_in`` methods run inside a caller's transaction (a task's final record, a DAG run's
creation, a registry change); the others open their own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select

from trackflow.entities.assets import AssetEvent, AssetRecord, NewAssetEvent
from trackflow.errors import Conflict, InvalidInput, NotFound
from trackflow.store.sql.asset_partitions import queue_partitions_in
from trackflow.store.sql.asset_tables import (
    alias_consumers,
    asset_aliases,
    asset_consumers,
    asset_events,
    asset_queue,
    assets,
    run_asset_events,
)
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import from_ms, to_ms
from trackflow.store.sql.rows import insert_for

MAX_NAME = 1500
MAX_PARTITION_KEY = 250


def _asset(row: Any) -> AssetRecord:
    return AssetRecord(row.id, row.name, row.uri, row.asset_group, json.loads(row.extra or "{}"),
                       from_ms(row.created_at))


def _event(row: Any) -> AssetEvent:
    return AssetEvent(
        id=row.id, asset_name=row.name, asset_uri=row.uri, timestamp=from_ms(row.timestamp),  # type: ignore[arg-type]
        extra=json.loads(row.extra or "{}"), source=row.source, source_dag_id=row.source_dag_id,
        source_run_id=row.source_run_id, source_task_id=row.source_task_id, source_map_index=row.source_map_index,
        partition_key=row.partition_key,
    )


_EVENT_COLUMNS = (asset_events.c.id, assets.c.name, assets.c.uri, asset_events.c.timestamp, asset_events.c.extra,
                  asset_events.c.source, asset_events.c.source_dag_id, asset_events.c.source_run_id,
                  asset_events.c.source_task_id, asset_events.c.source_map_index, asset_events.c.partition_key)


def check_partition_key(key: str | None) -> str | None:
    """The key, or InvalidInput for a blank or too long one (None: no partition)."""
    if key is not None and (not isinstance(key, str) or not key.strip() or len(key) > MAX_PARTITION_KEY):
        raise InvalidInput(f"a partition key must be a non-blank string of at most {MAX_PARTITION_KEY} characters, "
                           f"got {key!r}")
    return key


def check_event(event: NewAssetEvent) -> None:
    """InvalidInput naming the problem (what reaches the database is trusted)."""
    check_partition_key(event.partition_key)
    for what, value in (("name", event.name), ("uri", event.uri), ("group", event.group)):
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
            raise InvalidInput(f"asset {what} must be a non-empty string of at most {MAX_NAME} characters, "
                               f"got {value!r}")
    if not isinstance(event.extra, dict):
        raise InvalidInput(f"asset event extra must be a JSON object, got {type(event.extra).__name__}")
    try:
        json.dumps(event.extra, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"asset event extra is not JSON: {exc}") from None


def _asset_id_in(conn: Connection, event: NewAssetEvent, now: datetime) -> int:
    """The asset's id, creating it on first use (concurrent creators: one row wins)."""
    conn.execute(insert_for(conn, assets).values(
        name=event.name, uri=event.uri, asset_group=event.group, extra="{}", created_at=to_ms(now),
    ).on_conflict_do_nothing())
    return int(conn.execute(select(assets.c.id).where(assets.c.name == event.name)).scalar_one())


def record_events_in(conn: Connection, events: Sequence[NewAssetEvent], now: datetime) -> list[int]:
    """Record ``events`` (creating unknown assets) and queue each for the DAGs scheduled on its
    asset, inside the caller's transaction (a task's final record, a registry change); returns
    the event ids."""
    ids = []
    for event in events:
        asset_id = _asset_id_in(conn, event, now)
        event_id = conn.execute(insert(asset_events).values(
            asset_id=asset_id, timestamp=to_ms(now), extra=json.dumps(event.extra), source=event.source,
            source_dag_id=event.source_dag_id, source_run_id=event.source_run_id,
            source_task_id=event.source_task_id, source_map_index=event.source_map_index,
            partition_key=event.partition_key,
        ).returning(asset_events.c.id)).scalar_one()
        ids.append(int(event_id))
        if event.alias is not None:  # the alias now (also) resolves to this asset
            conn.execute(insert_for(conn, asset_aliases).values(alias_name=event.alias, asset_name=event.name)
                         .on_conflict_do_nothing())
        consumers = conn.execute(select(asset_consumers.c.dag_id, asset_consumers.c.partition_mapper).where(
            asset_consumers.c.asset_name == event.name)).all()
        if event.partition_key is not None:  # as Airflow: it reaches the partition-scheduled DAGs only
            queue_partitions_in(conn, {c.dag_id: c.partition_mapper for c in consumers if c.partition_mapper},
                                event.name, int(event_id), event.partition_key, now)
            continue
        aliases = select(asset_aliases.c.alias_name).where(asset_aliases.c.asset_name == event.name)
        dag_ids = {c.dag_id for c in consumers if not c.partition_mapper}
        dag_ids |= set(conn.execute(select(alias_consumers.c.dag_id).where(
            alias_consumers.c.alias_name.in_(aliases))).scalars())
        if dag_ids:  # the first update since a consumer's last run keeps its time
            conn.execute(insert_for(conn, asset_queue).on_conflict_do_nothing(), [
                {"asset_id": asset_id, "dag_id": dag_id, "created_at": to_ms(now)} for dag_id in sorted(dag_ids)])
    return ids


def _mapper_json(mappers_by_dag: Mapping[str, Mapping[str, dict[str, Any]]], dag_id: str, name: str) -> str | None:
    mapper = mappers_by_dag.get(dag_id, {}).get(name)
    return None if mapper is None else json.dumps(mapper, sort_keys=True)


class SqlAssetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Assets ----------------------------------------------------------------------------------
    def list_assets(self) -> list[AssetRecord]:
        with self.db.read() as conn:
            rows = conn.execute(select(assets).order_by(assets.c.name)).all()
        return [_asset(r) for r in rows]

    def consumers(self) -> dict[str, list[str]]:
        """Asset name -> the DAGs scheduled on it."""
        with self.db.read() as conn:
            rows = conn.execute(select(asset_consumers).order_by(asset_consumers.c.dag_id)).all()
        out: dict[str, list[str]] = {}
        for row in rows:
            out.setdefault(row.asset_name, []).append(row.dag_id)
        return out

    def sync_consumers(self, by_dag: Mapping[str, Iterable[str]],
                       aliases_by_dag: Mapping[str, Iterable[str]] | None = None,
                       mappers_by_dag: Mapping[str, Mapping[str, dict[str, Any]]] | None = None) -> None:
        """Replace, for each DAG given, the assets and aliases it is scheduled on (as last
        parsed) and, for a DAG scheduled on partitions, its partition mapper of each asset."""
        if not by_dag:
            return
        aliases_by_dag = aliases_by_dag or {}
        mappers_by_dag = mappers_by_dag or {}
        with self.db.write() as conn:
            conn.execute(delete(asset_consumers).where(asset_consumers.c.dag_id.in_(list(by_dag))))
            conn.execute(delete(alias_consumers).where(alias_consumers.c.dag_id.in_(list(by_dag))))
            rows = [{"asset_name": name, "dag_id": dag_id,
                     "partition_mapper": _mapper_json(mappers_by_dag, dag_id, name)}
                    for dag_id, names in by_dag.items() for name in set(names)]
            if rows:
                conn.execute(insert(asset_consumers), rows)
            alias_rows = [{"alias_name": name, "dag_id": dag_id} for dag_id, names in aliases_by_dag.items()
                          for name in set(names)]
            if alias_rows:
                conn.execute(insert(alias_consumers), alias_rows)

    def resolutions(self) -> dict[str, set[str]]:
        """Alias name -> the assets it resolved to so far."""
        out: dict[str, set[str]] = {}
        with self.db.read() as conn:
            for row in conn.execute(select(asset_aliases)):
                out.setdefault(row.alias_name, set()).add(row.asset_name)
        return out

    # Events ----------------------------------------------------------------------------------
    def record_events(self, events: Sequence[NewAssetEvent], now: datetime) -> list[AssetEvent]:
        for event in events:
            check_event(event)
        with self.db.write() as conn:
            ids = record_events_in(conn, events, now)
            rows = conn.execute(select(*_EVENT_COLUMNS).join(assets, assets.c.id == asset_events.c.asset_id)
                                .where(asset_events.c.id.in_(ids)).order_by(asset_events.c.id)).all()
        return [_event(r) for r in rows]

    def list_events(self, asset_name: str | None = None, limit: int = 100,
                    alias_name: str | None = None) -> list[AssetEvent]:
        """Newest first; of one asset, or of the assets an alias resolved to."""
        query = select(*_EVENT_COLUMNS).join(assets, assets.c.id == asset_events.c.asset_id)
        if asset_name is not None:
            query = query.where(assets.c.name == asset_name)
        if alias_name is not None:
            query = query.where(assets.c.name.in_(
                select(asset_aliases.c.asset_name).where(asset_aliases.c.alias_name == alias_name)))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(asset_events.c.id.desc()).limit(limit)).all()
        return [_event(r) for r in rows]

    # The queue and runs -------------------------------------------------------------------------
    def queued(self, dag_id: str) -> set[str]:
        """Names of the assets updated since ``dag_id``'s last asset-triggered run."""
        with self.db.read() as conn:
            return set(conn.execute(select(assets.c.name).join(asset_queue, asset_queue.c.asset_id == assets.c.id)
                                    .where(asset_queue.c.dag_id == dag_id)).scalars())

    def consume_in(self, conn: Connection, dag_id: str, run_id: str, names: Iterable[str]) -> None:
        """Inside the transaction creating run ``run_id``: take the queue entries of ``names``
        for ``dag_id`` and link their events to the run. Conflict (so the run is not created)
        if another scheduler took them first."""
        wanted = set(names)
        rows = conn.execute(select(asset_queue.c.asset_id, asset_queue.c.created_at, assets.c.name)
                            .join(assets, assets.c.id == asset_queue.c.asset_id)
                            .where(asset_queue.c.dag_id == dag_id, assets.c.name.in_(wanted))).all()
        taken = conn.execute(delete(asset_queue).where(
            asset_queue.c.dag_id == dag_id, asset_queue.c.asset_id.in_([r.asset_id for r in rows]))).rowcount
        if len(rows) != len(wanted) or taken != len(rows):
            raise Conflict(f"the asset updates that trigger DAG {dag_id!r} were consumed meanwhile")
        for row in rows:
            event_ids = conn.execute(select(asset_events.c.id).where(
                asset_events.c.asset_id == row.asset_id, asset_events.c.timestamp >= row.created_at)).scalars().all()
            if event_ids:
                conn.execute(insert(run_asset_events), [
                    {"dag_id": dag_id, "run_id": run_id, "event_id": e} for e in event_ids])

    def run_events(self, dag_id: str, run_id: str) -> list[AssetEvent]:
        """The events that triggered a run, oldest first."""
        with self.db.read() as conn:
            rows = conn.execute(
                select(*_EVENT_COLUMNS).join(assets, assets.c.id == asset_events.c.asset_id)
                .join(run_asset_events, and_(run_asset_events.c.event_id == asset_events.c.id,
                                             run_asset_events.c.dag_id == dag_id,
                                             run_asset_events.c.run_id == run_id))
                .order_by(asset_events.c.id)).all()
        return [_event(r) for r in rows]

    def get_asset(self, asset_id: int) -> AssetRecord:
        with self.db.read() as conn:
            row = conn.execute(select(assets).where(assets.c.id == asset_id)).first()
        if row is None:
            raise NotFound(f"asset {asset_id} does not exist")
        return _asset(row)
