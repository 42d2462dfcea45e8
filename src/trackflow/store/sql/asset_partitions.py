"""Partitioned asset events on SQLAlchemy Core: where each lands and how a run takes it.

An event with a partition key reaches each DAG scheduled on its asset's partitions through
that DAG's mapper: the downstream key(s) get a pending partition run (one per DAG and key)
and the event is logged against it, in the transaction that records the event. The run that
the scheduler creates for a pending partition marks it taken in its own creating
transaction (``take_in``), so each partition starts exactly one run, also across a crash.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from trackflow.entities.partition_mappers import downstream_keys, load_mapper
from trackflow.errors import Conflict, TrackflowError
from trackflow.store.sql.asset_tables import partition_keys, partition_runs, run_asset_events
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import to_ms
from trackflow.store.sql.rows import insert_for

log = logging.getLogger(__name__)

# Airflow's [scheduler] partition_mapper_max_downstream_keys default: a mapper producing more
# downstream keys from one event queues none of them (a misconfigured fan-out, not 10^6 runs).
MAX_DOWNSTREAM_KEYS = 1000


@dataclass(frozen=True)
class Arrival:
    asset_name: str
    source_key: str
    event_id: int


@dataclass
class PendingPartition:
    """A downstream partition some upstream events reached, not yet a run."""

    id: int
    dag_id: str
    partition_key: str
    arrivals: list[Arrival] = field(default_factory=list)


def queue_partitions_in(conn: Connection, mappers: Mapping[str, str], asset_name: str, event_id: int,
                        key: str, now: datetime) -> None:
    """Inside the transaction recording event ``event_id`` of ``asset_name`` with partition
    ``key``: log it against the pending partition(s) of each DAG in ``mappers`` (dag id -> its
    mapper for this asset, as JSON). A key a mapper rejects reaches nothing (logged)."""
    for dag_id, mapper_json in sorted(mappers.items()):
        mapper = load_mapper(json.loads(mapper_json))
        try:
            targets = downstream_keys(mapper, key)
        except (TrackflowError, ValueError, TypeError, KeyError) as exc:
            log.warning("partition key %r of asset %r does not map for DAG %r: %s", key, asset_name, dag_id, exc)
            continue
        cap = mapper.max_downstream_keys or MAX_DOWNSTREAM_KEYS
        if len(targets) > cap:
            log.error("partition key %r of asset %r maps to %d keys of DAG %r, more than %d: no run queued",
                      key, asset_name, len(targets), dag_id, cap)
            continue
        for target in targets:
            conn.execute(insert_for(conn, partition_runs).values(
                dag_id=dag_id, partition_key=target, created_at=to_ms(now)).on_conflict_do_nothing())
            pending_id = conn.execute(select(partition_runs.c.id).where(
                partition_runs.c.dag_id == dag_id, partition_runs.c.partition_key == target,
                partition_runs.c.run_id.is_(None))).scalar_one()
            conn.execute(insert_for(conn, partition_keys).values(
                partition_run_id=pending_id, event_id=event_id, asset_name=asset_name, source_key=key,
            ).on_conflict_do_nothing())


class SqlPartitionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(self, dag_id: str, limit: int = 100) -> list[PendingPartition]:
        """The DAG's pending partitions, oldest first, with the events that reached them."""
        with self.db.read() as conn:
            rows = conn.execute(select(partition_runs.c.id, partition_runs.c.partition_key)
                                .where(partition_runs.c.dag_id == dag_id, partition_runs.c.run_id.is_(None))
                                .order_by(partition_runs.c.created_at, partition_runs.c.id).limit(limit)).all()
            out = {r.id: PendingPartition(r.id, dag_id, r.partition_key) for r in rows}
            if out:
                for arrival in conn.execute(select(partition_keys).where(
                        partition_keys.c.partition_run_id.in_(list(out))).order_by(partition_keys.c.event_id)):
                    out[arrival.partition_run_id].arrivals.append(
                        Arrival(arrival.asset_name, arrival.source_key, arrival.event_id))
        return list(out.values())

    def take_in(self, conn: Connection, pending: PendingPartition, run_id: str) -> None:
        """Inside the transaction creating run ``run_id``: the pending partition becomes that
        run, which consumes its events. Conflict (so no run is created) if another scheduler
        took it first."""
        taken = conn.execute(update(partition_runs).where(
            partition_runs.c.id == pending.id, partition_runs.c.run_id.is_(None)).values(run_id=run_id)).rowcount
        if taken != 1:
            raise Conflict(f"partition {pending.partition_key!r} of DAG {pending.dag_id!r} was taken meanwhile")
        event_ids = sorted({a.event_id for a in pending.arrivals})
        if event_ids:
            conn.execute(insert(run_asset_events), [
                {"dag_id": pending.dag_id, "run_id": run_id, "event_id": e} for e in event_ids])
