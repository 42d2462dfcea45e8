"""TrackingSummaryStore on SQLite and PostgreSQL: run counts from a count query, and metric
series cut to a range and downsampled in SQL, equal to the Python reference
(server/ui/downsample.min_max_buckets) on the same data, for one run and many in one call."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackflow.entities import Metric, ViewType
from trackflow.errors import InvalidInput, NotFound
from trackflow.server.ui.downsample import min_max_buckets
from trackflow.store.sql import Database, SqlTrackingStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlTrackingStore]:
    sqlite = f"sqlite:///{tmp_path / 'tracking.db'}"
    uri = sqlite if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    yield SqlTrackingStore(db, str(tmp_path / "artifacts"))
    db.dispose()


def _history(rng: random.Random, points: int) -> list[Metric]:
    """Values with many ties (0.5, 0.25) and NaN/inf among them; steps and timestamps repeat."""
    choices = [0.5, 0.25, math.nan, math.inf, -math.inf]
    return [
        Metric("loss", rng.random() if rng.random() < 0.5 else rng.choice(choices),
               1_000 + rng.randint(0, 5_000), rng.randint(0, 3_000))
        for _ in range(points)
    ]


def _log(store: SqlTrackingStore, run_id: str, history: list[Metric]) -> None:
    for start in range(0, len(history), 1000):
        store.log_batch(run_id, history[start:start + 1000])


def _expected(history: list[Metric], axis: str, low: int | None, high: int | None, max_points: int) -> list:
    """The Python reference on the same data: finite points in (step, timestamp, value) order."""
    finite = sorted((m.step, m.timestamp, m.value) for m in history if math.isfinite(m.value))
    shift = min(ts for _, ts, _ in finite) if axis == "relative" else 0
    points = [(step if axis == "step" else ts - shift, value) for step, ts, value in finite]
    cut = [p for p in points if (low is None or p[0] >= low) and (high is None or p[0] <= high)]
    return min_max_buckets(cut, max_points)


CASES = [
    ("step", None, None, 100),  # few dense buckets: one GROUP BY
    ("step", None, None, 1_000),  # sparse ones: one GROUP BY too
    ("step", 100, 2_000, 100),
    ("step", 100, 130, 100),  # few points in the range: all of them
    ("timestamp", None, None, 60),
    ("timestamp", 2_000, 4_000, 50),
    ("relative", None, None, 7),
    ("relative", 10, 3_000, 100),
    ("step", None, None, 10_000),  # more than there are: every finite point
]


@pytest.mark.parametrize(("axis", "low", "high", "max_points"), CASES)
def test_series_equal_the_python_downsampler(
    store: SqlTrackingStore, axis: str, low: int | None, high: int | None, max_points: int
) -> None:
    rng = random.Random(f"{axis}{low}{high}{max_points}")
    experiment_id = store.create_experiment(f"series-{uuid.uuid4().hex[:8]}")
    histories = {}
    for _ in range(3):
        run_id = store.create_run(experiment_id).info.run_id
        histories[run_id] = _history(rng, 3_000)
        _log(store, run_id, histories[run_id])
    silent = store.create_run(experiment_id).info.run_id  # never logged "loss"

    samples = store.get_metric_series([*histories, silent], "loss", axis, low, high, max_points)  # one call

    assert set(samples) == set(histories)
    for run_id, history in histories.items():
        sample = samples[run_id]
        assert sample.points == _expected(history, axis, low, high, max_points)
        assert len(sample.points) <= max_points
        finite = [m for m in history if math.isfinite(m.value)]
        assert (sample.total, sample.non_finite) == (len(history), len(history) - len(finite))
        assert sample.first_timestamp == min(m.timestamp for m in finite)
        assert (sample.first_step, sample.last_step) == (min(m.step for m in finite), max(m.step for m in finite))


def test_a_long_history_seeks_its_buckets_and_still_equals_the_reference(store: SqlTrackingStore) -> None:
    """24,000 points (two thirds finite) in 50 buckets: SQLite reads each bucket's extremes from an
    index range (from 10,000 points, metric_series._SEEK_MIN_POINTS)."""
    rng = random.Random(7)
    run_id = store.create_run(store.create_experiment(f"long-{uuid.uuid4().hex[:8]}")).info.run_id
    history = [Metric("loss", rng.choice([rng.random(), 0.5, math.nan]), 1_000 + rng.randint(0, 9), step)
               for step in range(24_000)]
    _log(store, run_id, history)
    for low, high in ((None, None), (2_000, 22_000)):
        sample = store.get_metric_series([run_id], "loss", "step", low, high, 100)[run_id]
        assert sample.points == _expected(history, "step", low, high, 100)


def test_a_history_of_only_non_finite_values_has_no_points(store: SqlTrackingStore) -> None:
    run_id = store.create_run(store.create_experiment(f"nan-{uuid.uuid4().hex[:8]}")).info.run_id
    store.log_batch(run_id, [Metric("loss", math.nan, 1, 0), Metric("loss", math.inf, 2, 1)])
    sample = store.get_metric_series([run_id], "loss")[run_id]
    assert (sample.points, sample.total, sample.non_finite, sample.first_timestamp) == ([], 2, 2, None)


def test_series_reject_bad_input(store: SqlTrackingStore) -> None:
    run_id = store.create_run(store.create_experiment(f"bad-{uuid.uuid4().hex[:8]}")).info.run_id
    with pytest.raises(NotFound, match="nope"):
        store.get_metric_series([run_id, "nope"], "loss")
    with pytest.raises(InvalidInput, match="axis"):
        store.get_metric_series([run_id], "loss", axis="epoch")
    with pytest.raises(InvalidInput, match="max_points"):
        store.get_metric_series([run_id], "loss", max_points=1)
    with pytest.raises(InvalidInput, match="low"):
        store.get_metric_series([run_id], "loss", low=5, high=4)


def test_count_runs_per_experiment_with_a_filter(store: SqlTrackingStore) -> None:
    first = store.create_experiment(f"count-{uuid.uuid4().hex[:8]}")
    second = store.create_experiment(f"count-{uuid.uuid4().hex[:8]}")
    empty = store.create_experiment(f"count-{uuid.uuid4().hex[:8]}")
    for i in range(7):
        run_id = store.create_run(first).info.run_id
        store.log_batch(run_id, [Metric("acc", i / 10, 1, 0)])
        if i == 0:
            store.delete_run(run_id)
    for _ in range(3):
        store.create_run(second)

    assert store.count_runs([first, second, empty]) == {first: 6, second: 3, empty: 0}
    assert store.count_runs([first], view_type=ViewType.ALL) == {first: 7}
    assert store.count_runs([first, second], "metrics.acc >= 0.4") == {first: 3, second: 0}
    # the same answer as paging through the search
    assert store.count_runs([first], "metrics.acc < 0.4")[first] == len(
        store.search_runs([first], "metrics.acc < 0.4", max_results=1000))
    with pytest.raises(InvalidInput):
        store.count_runs([first], "metrics.acc >>> 1")
