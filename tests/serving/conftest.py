"""Serving fixtures: a saved iris model and a scoring app on a real port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers import ThreadServer


@pytest.fixture(scope="session")
def iris() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y, LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture(scope="session")
def iris_model_dir(tmp_path_factory: pytest.TempPathFactory, iris: Any) -> Path:
    import trackflow.sklearn

    path = tmp_path_factory.mktemp("serving") / "iris"
    trackflow.sklearn.save_model(iris[2], path, input_example=iris[0][:3])
    return path


@pytest.fixture
def scoring_server() -> Iterator[Any]:
    """Call with (model, config=None, inference_logger=None) to get a running server's URL."""
    servers: list[ThreadServer] = []

    def start(model: Any, config: Any = None, inference_logger: Any = None) -> str:
        from trackflow.serving.app import create_scoring_app

        server = ThreadServer(create_scoring_app(model, config, inference_logger)).__enter__()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.__exit__()
