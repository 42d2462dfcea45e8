"""Metric series for charts, cut to an x range and downsampled inside the database.

A chart of a 100,000-point history needs a few hundred points; reading the whole history
into Python to throw most of it away was most of a chart's time. Here the database keeps,
per run, the lowest and the highest value of each of ``max_points // 2`` equal-width x
buckets (the same as ``trackflow.server.ui.downsample.min_max_buckets``), reading only the
metrics index (``ix_metrics_series`` holds value and is_nan): one scan for the counts and
the x span, one or two for the buckets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, case, false, func, literal, or_, select, text

from trackflow.entities import MetricSeriesSample
from trackflow.store.sql import tables as t
from trackflow.store.sql.rows import fetch_tuples

AXES = ("step", "timestamp", "relative")  # relative: ms since the run's first finite value

_m = t.metrics.c


@dataclass
class _Cut:
    """A run's part of the query: absolute x bounds, and what the first scan found in them."""

    sample: MetricSeriesSample
    shift: int  # subtracted from x on the way out (the first timestamp, for axis "relative")
    low: int | None = None
    high: int | None = None
    count: int = 0
    first_x: int = 0
    last_x: int = 0
    width: int = 1


def _finite() -> Any:
    return and_(_m.is_nan == false(), _m.value > literal(-math.inf), _m.value < literal(math.inf))


def _per_run(values: dict[str, int | None]) -> Any:
    """One SQL value per run: a literal when all runs share it, else a CASE on run_uuid."""
    distinct = set(values.values())
    if len(distinct) == 1:
        return literal(distinct.pop())
    return case({run: literal(v) for run, v in values.items()}, value=_m.run_uuid)


def _in_range(column: Any, cuts: dict[str, _Cut]) -> Any:
    clause = []
    if any(c.low is not None for c in cuts.values()):
        low = _per_run({r: c.low if c.low is not None else -(2**63) for r, c in cuts.items()})
        clause.append(column >= low)
    if any(c.high is not None for c in cuts.values()):
        high = _per_run({r: c.high if c.high is not None else 2**63 - 1 for r, c in cuts.items()})
        clause.append(column <= high)
    return and_(True, *clause)


def _first_timestamps(conn: Connection, run_ids: Sequence[str], key: str) -> dict[str, int]:
    query = (
        select(_m.run_uuid, func.min(_m.timestamp))
        .where(_m.run_uuid.in_(list(run_ids)), _m.key == key, _finite())
        .group_by(_m.run_uuid)
    )
    return {run: first for run, first in conn.execute(query)}


def _spans(conn: Connection, cuts: dict[str, _Cut], key: str, axis: str, column: Any,
           max_points: int) -> dict[str, _Cut]:
    """Fill in counts and spans (two scans of the index: all points, finite ones); returns the
    cuts of runs that logged ``key``."""
    finite = _finite()
    runs, same_key = _m.run_uuid.in_(list(cuts)), _m.key == key
    count_all = select(_m.run_uuid, func.count()).where(runs, same_key).group_by(_m.run_uuid)
    totals: dict[str, int] = {run: total for run, total in conn.execute(count_all)}
    ranged = any(c.low is not None or c.high is not None for c in cuts.values())
    kept = _in_range(column, cuts)
    # Without a range every finite point is kept: the span is the history's own, no CASE per row.
    in_cut = [func.count(case((kept, 1))), func.min(case((kept, column))), func.max(case((kept, column)))] if ranged \
        else []
    stats = (
        select(_m.run_uuid, func.count(), func.min(_m.timestamp), func.max(_m.timestamp), func.min(_m.step),
               func.max(_m.step), *in_cut)
        .where(runs, same_key, finite)
        .group_by(_m.run_uuid)
    )
    found = {run: cuts[run] for run in totals}
    for run, total in totals.items():
        found[run].sample = MetricSeriesSample([], total, total, None, None, None)  # until finite ones are counted
    for run, finite_count, first_ts, last_ts, first_step, last_step, *span in conn.execute(stats):
        cut = found[run]
        cut.sample = MetricSeriesSample([], cut.sample.total, cut.sample.total - finite_count,
                                        first_ts, first_step, last_step)
        if axis == "relative":
            cut.shift = first_ts
        count, first_x, last_x = span if ranged else (
            (finite_count, first_step, last_step) if axis == "step" else (finite_count, first_ts, last_ts))
        if count:
            cut.count, cut.first_x, cut.last_x = count, first_x, last_x
            cut.width = (last_x - first_x) // (max_points // 2) + 1
    return found


def read_series(
    conn: Connection,
    run_ids: Sequence[str],
    key: str,
    axis: str,
    low: int | None,
    high: int | None,
    max_points: int,
) -> dict[str, MetricSeriesSample]:
    """Each run's sample of ``key`` (runs without it left out); see TrackingSummaryStore."""
    column, tie = (_m.step, _m.timestamp) if axis == "step" else (_m.timestamp, _m.step)
    shifts = _first_timestamps(conn, run_ids, key) if axis == "relative" and (low, high) != (None, None) else {}
    cuts = {
        run: _Cut(MetricSeriesSample([], 0, 0, None, None, None), shifts.get(run, 0),
                  None if low is None else low + shifts.get(run, 0),
                  None if high is None else high + shifts.get(run, 0))
        for run in run_ids
    }
    found = _spans(conn, cuts, key, axis, column, max_points)
    finite = _finite()
    rows: list[Any] = []
    whole = {r: c for r, c in found.items() if 0 < c.count <= max_points}
    if whole:
        query = select(_m.run_uuid, column, tie, _m.value).where(
            _m.run_uuid.in_(list(whole)), _m.key == key, finite, _in_range(column, whole))
        rows.extend(tuple(row) for row in conn.execute(query))
    bucketed = {r: c for r, c in found.items() if c.count > max_points}
    if conn.dialect.name == "sqlite" and axis == "step":
        for run, cut in list(bucketed.items()):
            if cut.count >= max(_DENSE * (max_points // 2), _SEEK_MIN_POINTS):
                rows.extend(set(_bucket_seeks(conn, run, cut, key)))
                del bucketed[run]
    if bucketed:
        rows.extend(set(_bucket_extremes(conn, bucketed, key, column, tie)))  # a bucket's only point: once
    rows.sort()  # by run, x, then the other of step/timestamp, then value
    for run, x, _, value in rows:
        found[run].sample.points.append((x - found[run].shift, value))
    return {run: cut.sample for run, cut in found.items()}


# Points per bucket, and in all, from which seeking each bucket in the index beats one GROUP BY
# (SQLite; measured: a 100,000-point history gains, 50 runs of 1,000 points lose to statement overhead).
_DENSE = 8
_SEEK_MIN_POINTS = 10_000
_SEEK_BUCKET = """
WITH RECURSIVE buckets(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM buckets WHERE i < :last_bucket)
SELECT (SELECT id FROM (SELECT id, min(value) FROM metrics WHERE {cond})),
       (SELECT id FROM (SELECT id, max(value) FROM metrics WHERE {cond}))
FROM buckets
"""
_SEEK_CONDITION = (
    "run_uuid = :run AND key = :key AND is_nan = 0 AND value > :low_value AND value < :high_value"
    " AND step >= :first + buckets.i * :width AND step < :first + (buckets.i + 1) * :width"
    " AND step >= :low AND step <= :high"
)


def _bucket_seeks(conn: Connection, run: str, cut: _Cut, key: str) -> list[Any]:
    """As _bucket_extremes for one run on the step axis of SQLite, without its sort of every
    point: each bucket is a range of the index, where a min()/max() query keeps the row
    holding the extreme (the first one in step, timestamp order). Worth it when buckets
    hold many points (a 100,000-point history: about twice as fast)."""
    params = {
        "run": run, "key": key, "low_value": -math.inf, "high_value": math.inf, "first": cut.first_x,
        "width": cut.width, "last_bucket": (cut.last_x - cut.first_x) // cut.width,
        "low": cut.low if cut.low is not None else -(2**63), "high": cut.high if cut.high is not None else 2**63 - 1,
    }
    ids = [i for pair in conn.execute(text(_SEEK_BUCKET.format(cond=_SEEK_CONDITION)), params) for i in pair]
    found = [i for i in ids if i is not None]
    query = select(_m.run_uuid, _m.step, _m.timestamp, _m.value).where(_m.id.in_(found))
    return [tuple(row) for row in conn.execute(query)]


def _bucket_scan(conn: Connection, cuts: dict[str, _Cut], key: str, column: Any, tie: Any) -> list[Any]:
    """_bucket_extremes on SQLite: one read of each run's cut in index order (no sort) and the
    extremes picked here. SQLite has no hash aggregate: a GROUP BY sorts every point, twice
    (lowest, highest), which measured 1.3-1.5x slower than reading the points. One query per
    run, so that no row carries the run id (100,000 copies of it were a third of the read)."""
    out: list[Any] = []
    for run, cut in cuts.items():
        query = select(column, tie, _m.value).where(
            _m.run_uuid == run, _m.key == key, _finite(), _in_range(column, {run: cut})).order_by(
            _m.step, _m.timestamp, _m.value)
        first, width = cut.first_x, cut.width
        low: dict[int, tuple[float, Any]] = {}  # bucket -> (value, row) of its lowest, the first among equal
        high: dict[int, tuple[float, Any]] = {}
        for row in fetch_tuples(conn, query):  # plain tuples: Row objects made this slower than a GROUP BY
            bucket, value = (row[0] - first) // width, row[2]
            if bucket not in low:
                low[bucket] = high[bucket] = (value, row)
            elif value < low[bucket][0]:
                low[bucket] = (value, row)
            elif value > high[bucket][0]:
                high[bucket] = (value, row)
        out.extend((run, *row) for _, row in low.values())
        out.extend((run, *row) for _, row in high.values())
    return out


def _bucket_extremes(conn: Connection, cuts: dict[str, _Cut], key: str, column: Any, tie: Any) -> list[Any]:
    """(run, x, tie, value) of the lowest and highest value of each bucket of each run; among
    equal values the first in (step, timestamp) order. A point both lowest and highest of its
    bucket comes back twice (the caller drops the copy)."""
    first = _per_run({r: c.first_x for r, c in cuts.items()})
    width = _per_run({r: c.width for r, c in cuts.items()})
    bucket = (column - first) // width
    if conn.dialect.name == "sqlite":
        return _bucket_scan(conn, cuts, key, column, tie)
    where = and_(_m.run_uuid.in_(list(cuts)), _m.key == key, _finite(), _in_range(column, cuts))
    order = (_m.step, _m.timestamp)
    ranked = select(
        _m.run_uuid.label("run"),
        column.label("x"),
        tie.label("tie"),
        _m.value.label("value"),
        func.row_number().over(partition_by=(_m.run_uuid, bucket), order_by=(_m.value, *order)).label("low"),
        func.row_number().over(partition_by=(_m.run_uuid, bucket), order_by=(_m.value.desc(), *order)).label("high"),
    ).where(where).subquery()
    r = ranked.c
    return [tuple(row) for row in conn.execute(select(r.run, r.x, r.tie, r.value).where(or_(r.low == 1, r.high == 1)))]
