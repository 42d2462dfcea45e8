"""Sampled inference logging into the store, and per-feature window summaries."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import requests

from trackflow.entities.inference import InferenceRecord
from trackflow.errors import InvalidInput
from trackflow.models.pyfunc import load_local
from trackflow.serving.inference_log import InferenceLogger
from trackflow.store.sql.database import Database
from trackflow.store.sql.inference_store import SqlInferenceLogStore

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture
def store(tmp_path: Path) -> SqlInferenceLogStore:
    db = Database(f"sqlite:///{tmp_path / 'log.db'}")
    db.upgrade()
    return SqlInferenceLogStore(db)


def test_requests_are_logged_and_summarized(scoring_server: Any, iris_model_dir: Path, store: Any) -> None:
    logger = InferenceLogger(store, "models:/iris/1", sample_rate=1.0, flush_interval=0.05)
    url = scoring_server(load_local(iris_model_dir), None, logger)
    rows = [[5.0, 3.0, 1.0, 0.1], [7.0, 3.0, 5.0, 2.0]]
    for row in rows:
        body = {"dataframe_split": {"columns": COLUMNS, "data": [row]}}
        assert requests.post(f"{url}/invocations", json=body, timeout=10).status_code == 200
    logger.flush()
    records = store.list_inferences("models:/iris/1")
    assert len(records) == 2
    assert sorted(r.inputs[0]["sepal length (cm)"] for r in records) == [5.0, 7.0]
    assert all(isinstance(r.predictions, list) for r in records)
    start = min(r.timestamp for r in records)
    windows = store.summarize("models:/iris/1", start, start + 120_000, 60_000)
    assert len(windows) == 2 and windows[0].requests == 2 and windows[1].requests == 0
    feature = next(f for f in windows[0].features if f.feature == "petal length (cm)")
    assert (feature.count, feature.mean, feature.min, feature.max) == (2, 3.0, 1.0, 5.0)


def test_sampling_rate(store: Any) -> None:
    import pandas as pd

    logger = InferenceLogger(store, "e", sample_rate=0.25, flush_interval=0.05, rng=random.Random(7))
    for _ in range(400):
        logger.maybe_log(pd.DataFrame({"x": [1.0]}), [1], 0.001)
    logger.flush()
    logger.close()
    logged = len(store.list_inferences("e", max_results=1000))
    assert 50 < logged < 150  # about a quarter, deterministic for this seed


def test_text_features_and_bad_arguments(store: Any) -> None:
    store.log_inferences([
        InferenceRecord("t", 1000, [{"city": "Paris", "n": None}, {"city": "Rome", "n": 2}], ["a", "b"], 1.0),
    ])
    (window,) = store.summarize("t", 0, 2000, 2000)
    city = next(f for f in window.features if f.feature == "city")
    n = next(f for f in window.features if f.feature == "n")
    assert (city.distinct, city.mean) == (2, None)
    assert (n.count, n.nulls, n.mean) == (2, 1, 2.0)
    with pytest.raises(InvalidInput, match="window_ms"):
        store.summarize("t", 0, 10, 0)
    with pytest.raises(InvalidInput, match="windows asked for"):
        store.summarize("t", 0, 10**9, 1)
    with pytest.raises(InvalidInput, match="sample rate"):
        InferenceLogger(store, "t", sample_rate=2)
