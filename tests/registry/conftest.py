"""Registry fixtures: the store contract runs on SQLite, PostgreSQL and REST (a real server
on a free port: the lead's create_app with the registry routers mounted if it lacks them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from servers import ThreadServer


def build_app(home: Path) -> Any:
    from trackflow.config import Settings
    from trackflow.server.app import create_app

    settings = Settings(home=str(home), tracking_uri=f"sqlite:///{home / 'server.db'}",
                        artifacts_destination=str(home / "artifacts"))
    app = create_app(settings)
    return app


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("registry-server")
    with ThreadServer(build_app(home)) as server:
        assert requests.get(f"{server.url}/health", timeout=5).status_code == 200
        yield server.url


@pytest.fixture(params=["sqlite", "postgres", "rest"])
def registry_env(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """(registry store, tracking client) on one backend."""
    from trackflow.config import Settings
    from trackflow.registry.client import RegistryClient

    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'reg.db'}"
    elif request.param == "postgres":
        uri = request.getfixturevalue("postgres_uri")
    else:
        uri = request.getfixturevalue("registry_server")
    client = RegistryClient(uri, settings=Settings(home=str(tmp_path), artifacts_destination=str(tmp_path / "a")))
    return client


@pytest.fixture(scope="session")
def iris() -> Any:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    return X, y, LogisticRegression(max_iter=300).fit(X, y)
