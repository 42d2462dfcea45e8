"""LTTB downsampling (pure)."""

from __future__ import annotations

import math

import pytest

from trackflow.server.ui.downsample import lttb


def test_short_series_are_returned_unchanged() -> None:
    points = [(float(i), float(i * i)) for i in range(10)]
    assert lttb(points, 500) == points


def test_long_series_keep_ends_order_and_peaks() -> None:
    points = [(float(i), math.sin(i / 500)) for i in range(100_000)]
    points[54_321] = (54_321.0, 50.0)  # a spike striding would likely miss
    out = lttb(points, 500)
    assert len(out) == 500
    assert out[0] == points[0] and out[-1] == points[-1]
    assert [p[0] for p in out] == sorted(p[0] for p in out)
    assert (54_321.0, 50.0) in out
    assert set(out) <= set(points)


def test_threshold_below_three_is_rejected() -> None:
    with pytest.raises(ValueError, match="threshold"):
        lttb([(0.0, 0.0)] * 10, 2)
