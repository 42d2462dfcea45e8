"""Min/max-per-bucket downsampling (pure): the reference of the store's get_metric_series."""

from __future__ import annotations

import math

import pytest

from trackflow.server.ui.downsample import min_max_buckets


def test_short_series_are_returned_sorted_and_whole() -> None:
    points = [(9 - i, float(i * i)) for i in range(10)]
    assert min_max_buckets(points, 500) == sorted(points)


def test_long_series_keep_ends_order_and_peaks() -> None:
    points = [(i, math.sin(i / 500)) for i in range(100_000)]
    points[54_321] = (54_321, 50.0)  # a spike striding would likely miss
    points[7] = (7, -50.0)  # and a dip
    out = min_max_buckets(points, 500)
    assert len(out) <= 500
    assert [p[0] for p in out] == sorted(p[0] for p in out)
    assert (54_321, 50.0) in out and (7, -50.0) in out
    assert set(out) <= set(points)


def test_each_bucket_keeps_its_lowest_and_highest_first_among_ties() -> None:
    # 4 points per threshold -> 2 buckets over x 0..9, width 9 // 2 + 1 = 5: x 0-4 and 5-9.
    points = [(0, 1.0), (1, 3.0), (2, 0.5), (3, 3.0), (4, 0.5), (5, 2.0), (6, 2.0), (7, 2.0), (8, 2.0), (9, 2.0)]
    assert min_max_buckets(points, 4) == [(1, 3.0), (2, 0.5), (5, 2.0)]


def test_threshold_below_two_is_rejected() -> None:
    with pytest.raises(ValueError, match="threshold"):
        min_max_buckets([(0, 0.0)] * 10, 1)
