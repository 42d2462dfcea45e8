"""Serving fixtures: a saved iris model and a scoring app on a real port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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


class ThreadServer:
    """uvicorn serving an app on a free port from a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"server on {self.url} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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
