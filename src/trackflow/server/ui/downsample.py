"""Shrinking a long series to a few hundred points that still look like it (pure).

Min/max per bucket: split the x range into equal-width buckets and keep the lowest and the
highest point of each, so peaks and dips survive (plain striding would drop them). Unlike
LTTB it needs no point-to-point dependency, so the database computes it with one GROUP BY:
this function is the reference the SQL store is tested against.
"""

from __future__ import annotations

from collections.abc import Sequence


def min_max_buckets(points: Sequence[tuple[int, float]], threshold: int) -> list[tuple[int, float]]:
    """At most ``threshold`` of ``points`` (integer x, any order): the lowest and the highest
    value of each of ``threshold // 2`` equal-width x buckets, sorted by x (stable).

    Buckets start at the smallest x and are ``(largest x - smallest x) // (threshold // 2) + 1``
    wide; among equal values the earlier point in ``points`` wins (the store passes them in
    step, then timestamp order). Returns all points, sorted by x, when there are no more than
    ``threshold``. This is the reference for the SQL store's ``get_metric_series``, which
    computes the same in the database. Raises ValueError when ``threshold`` < 2.
    """
    if threshold < 2:
        raise ValueError(f"threshold must be at least 2, got {threshold}")
    if len(points) <= threshold:
        return sorted(points, key=lambda p: p[0])
    first = min(p[0] for p in points)
    width = (max(p[0] for p in points) - first) // (threshold // 2) + 1
    kept: dict[int, tuple[int, int]] = {}  # bucket -> (index of lowest, index of highest)
    for i, (x, y) in enumerate(points):
        bucket = (x - first) // width
        if bucket not in kept:
            kept[bucket] = (i, i)
            continue
        low, high = kept[bucket]
        kept[bucket] = (i if y < points[low][1] else low, i if y > points[high][1] else high)
    return sorted((points[i] for i in sorted({i for pair in kept.values() for i in pair})), key=lambda p: p[0])
