"""Fixtures for model tests: a trained iris classifier and MLflow allowed to unpickle it."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def iris() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    return X, y, model


@pytest.fixture
def mlflow_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow 3 refuses pickled models unless this is set (trackflow models are pickles too)."""
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
