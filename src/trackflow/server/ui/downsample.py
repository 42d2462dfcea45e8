"""Shrinking a long series to a few hundred points that still look like it (pure).

Largest-Triangle-Three-Buckets (Steinarsson, 2013): keep the first and last points and, from
each of ``threshold - 2`` equal buckets in between, the point forming the largest triangle
with the point kept before it and the average of the next bucket. Peaks and dips survive,
which plain striding would drop.
"""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float, float]


def lttb(points: Sequence[Point], threshold: int) -> list[Point]:
    """At most ``threshold`` points of ``points`` (sorted by x), first and last included.

    Returns the points unchanged when there are no more than ``threshold`` of them.
    Raises ValueError when ``threshold`` < 3.
    """
    if threshold < 3:
        raise ValueError(f"threshold must be at least 3, got {threshold}")
    n = len(points)
    if n <= threshold:
        return list(points)
    out = [points[0]]
    bucket = (n - 2) / (threshold - 2)
    kept = 0
    for i in range(threshold - 2):
        start = int(i * bucket) + 1
        end = int((i + 1) * bucket) + 1
        next_end = min(int((i + 2) * bucket) + 1, n)
        nxt = points[end:next_end] or [points[-1]]
        avg_x = sum(p[0] for p in nxt) / len(nxt)
        avg_y = sum(p[1] for p in nxt) / len(nxt)
        ax, ay = points[kept]
        best, best_area = start, -1.0
        for j in range(start, end):
            x, y = points[j]
            area = abs((ax - avg_x) * (y - ay) - (ax - x) * (avg_y - ay))
            if area > best_area:
                best, best_area = j, area
        out.append(points[best])
        kept = best
    out.append(points[-1])
    return out
