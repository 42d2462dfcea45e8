"""When a pending partition of a partition-scheduled DAG may run (pure; Airflow 3.3's rules).

An asset has delivered a partition when an event of it reached the partition, and, if the
DAG's mapper for that asset is a rollup, when the upstream keys that arrived satisfy its wait
policy over the window (``to_upstream``). The DAG's asset condition is then evaluated over
the assets that delivered, as for unpartitioned assets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from trackflow.entities.partition_mappers import PartitionMapper, RollupMapper, load_mapper
from trackflow.errors import TrackflowError
from trackflow.pipelines.scheduler import asset_triggers
from trackflow.pipelines.scheduler.timetables import PartitionedAssetTimetable
from trackflow.store.sql.asset_partitions import Arrival

log = logging.getLogger(__name__)


def delivered(timetable: PartitionedAssetTimetable, key: str, arrivals: Iterable[Arrival]) -> set[str]:
    """The assets whose arrivals complete partition ``key``."""
    keys_by_asset: dict[str, set[str]] = {}
    for arrival in arrivals:
        keys_by_asset.setdefault(arrival.asset_name, set()).add(arrival.source_key)
    out = set()
    for name, keys in keys_by_asset.items():
        mapper = load_mapper(timetable.mapper_of(name))
        if not isinstance(mapper, RollupMapper):
            out.add(name)
            continue
        try:
            expected = mapper.to_upstream(key)
        except (TrackflowError, ValueError, TypeError) as exc:
            log.error("rollup of asset %r for partition %r: %s", name, key, exc)
            continue
        if mapper.wait_policy.unreachable(len(expected)):
            log.warning("partition %r can never run: %r cannot be met by a window of %d keys",
                        key, mapper.wait_policy, len(expected))
        elif mapper.wait_policy.satisfied(len(keys & expected), len(expected)):
            out.add(name)
    return out


def ready(timetable: PartitionedAssetTimetable, key: str, arrivals: Iterable[Arrival]) -> bool:
    return asset_triggers.holds(timetable.condition, delivered(timetable, key, arrivals))


def partition_date(timetable: PartitionedAssetTimetable, key: str, asset_names: Iterable[str]) -> datetime | None:
    """The date of partition ``key`` if the mappers of the assets that reached it agree on one."""
    dates = set()
    for name in set(asset_names):
        mapper: PartitionMapper = load_mapper(timetable.mapper_of(name))
        try:
            date = mapper.to_partition_date(key)
        except (TrackflowError, ValueError, TypeError):
            date = None
        if date is not None:
            dates.add(date)
    return dates.pop() if len(dates) == 1 else None
