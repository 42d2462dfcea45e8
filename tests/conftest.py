"""Fixtures shared by the whole suite: free ports, a throwaway PostgreSQL database, a real
`trackflow server` subprocess, a real S3-compatible server (moto), and the tracking backends
the contract suite runs on (embedded SQLite, embedded PostgreSQL, remote over REST).

Servers started here write their output to a log file; when a test using one fails, the log
is appended to the test's report (see ``pytest_runtest_makereport``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from peers import wait_until_ready
from servers import free_port

POSTGRES_ADMIN_URI = "postgresql://postgres@127.0.0.1:5432/postgres"
S3_BUCKET = "trackflow-artifacts"
SERVER_START_TIMEOUT_S = 60  # a generous limit for a loaded 2-core machine, not a timing assertion




@pytest.fixture(scope="session", autouse=True)
def isolated_trackflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test touches the developer's ~/.trackflow or inherits their trackflow settings:
    TRACKFLOW_HOME points at a temporary directory for the whole session."""
    home = tmp_path_factory.mktemp("trackflow-home")
    with pytest.MonkeyPatch.context() as mp:
        for var in [v for v in os.environ if v.startswith(("TRACKFLOW_", "MLFLOW_"))]:
            mp.delenv(var)
        mp.setenv("TRACKFLOW_HOME", str(home))
        yield home


# PostgreSQL ------------------------------------------------------------------------------
def _postgres_unavailable(reason: str) -> None:
    """Skip on a developer machine without PostgreSQL; fail loudly in CI (env CI set)."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL not available: {reason}")


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A fresh database ``tf_test_<random>`` for this test session, dropped at the end."""
    try:
        import psycopg
    except ImportError:
        _postgres_unavailable("psycopg is not installed")
    name = f"tf_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URI, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _postgres_unavailable(f"cannot connect to {POSTGRES_ADMIN_URI}: {str(exc).strip()}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URI, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# trackflow server subprocess -------------------------------------------------------------
class ServerURL(str):
    """The base URL of a running server (a plain str), carrying its process and log file."""

    process: subprocess.Popen[bytes]
    log_path: Path
    artifacts_destination: str
    backend_store_uri: str

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


@contextmanager
def start_trackflow_server(
    workdir: Path,
    backend_store_uri: str | None = None,
    artifacts_destination: str | None = None,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[ServerURL]:
    """Run ``python -m trackflow server`` on a free port until the block ends.

    Defaults: SQLite file and artifact directory under ``workdir``, TRACKFLOW_HOME=workdir/home.
    Waits for ``GET /health`` to answer 200; fails with the server's output if it never does.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    backend_store_uri = backend_store_uri or f"sqlite:///{workdir / 'server.db'}"
    artifacts_destination = artifacts_destination or str(workdir / "artifacts")
    log_path = workdir / f"server-{port}.log"
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    child_env.update({"TRACKFLOW_HOME": str(workdir / "home"), "PYTHONUNBUFFERED": "1", **(env or {})})
    command = [
        sys.executable,
        "-m",
        "trackflow",
        "server",
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        artifacts_destination,
        *extra_args,
    ]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=child_env)
    url = ServerURL(f"http://127.0.0.1:{port}")
    url.process, url.log_path = process, log_path
    url.artifacts_destination, url.backend_store_uri = artifacts_destination, backend_store_uri
    try:
        wait_until_ready(url, "/health", "trackflow server", SERVER_START_TIMEOUT_S)
        yield url
    except BaseException:
        # Captured by pytest and shown with the failing test's report.
        sys.stderr.write(f"\n----- trackflow server {url} output -----\n{url.log()[-20_000:]}\n")
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture(scope="session")
def trackflow_server() -> Any:
    """``start_trackflow_server`` for tests that need a server of their own (another backend
    store, S3 artifacts...): ``with trackflow_server(tmp_dir, artifacts_destination=...) as url:``.
    A fixture because test modules cannot reliably import from conftest.py."""
    return start_trackflow_server


@pytest.fixture(scope="session")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerURL]:
    """One SQLite-backed trackflow server subprocess shared by the session; yields its base URL
    (``.artifacts_destination`` is the directory it stores artifacts in)."""
    with start_trackflow_server(tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed:
        for value in getattr(item, "funcargs", {}).values():
            servers = [value] if isinstance(value, str) else [getattr(value, "server", None)]
            for server in servers:
                if isinstance(server, ServerURL):
                    report.sections.append((f"trackflow server {server} output", server.log()[-20_000:]))
                elif hasattr(server, "log") and isinstance(server, str):  # a peer (tests/peers.py)
                    report.sections.append((f"peer server {server} output", server.log()[-20_000:]))
    return report


# The real MLflow (differential tests) ------------------------------------------------------
@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` (the pinned peer, ``--workers 1``, SQLite, proxied artifacts)
    shared by the session: the oracle the differential tests compare trackflow with."""
    from peers import start_mlflow_server

    with start_mlflow_server(tmp_path_factory.mktemp("mlflow-peer")) as url:
        yield url


# S3 (moto) -------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free port, with fake credentials in the environment and the bucket
    ``S3_BUCKET`` created."""
    boto3 = pytest.importorskip("boto3")
    moto_server = pytest.importorskip("moto.server")
    port = free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_SESSION_TOKEN", raising=False)
        mp.delenv("AWS_PROFILE", raising=False)
        mp.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=S3_BUCKET)
        try:
            yield endpoint
        finally:
            server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint: str) -> str:
    """The bucket created on the moto server."""
    return S3_BUCKET


# Tracking backends -----------------------------------------------------------------------
@dataclass
class TrackingBackend:
    """One place the contract suite runs: a Client plus what the fluent API needs to reach it."""

    name: str
    tracking_uri: str
    artifacts_dir: Path  # where run artifacts end up on disk
    home: Path
    server: ServerURL | None = None
    env: dict[str, str] = field(default_factory=dict)

    def client(self) -> Any:
        from trackflow.config import Settings
        from trackflow.tracking.client import Client

        settings = Settings(home=str(self.home), artifacts_destination=str(self.artifacts_dir))
        return Client(self.tracking_uri, settings=settings)


BACKENDS = ["sqlite", "postgres", "remote"]


@pytest.fixture(scope="session", params=BACKENDS)
def tracking_backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> TrackingBackend:
    """Embedded SQLite, embedded PostgreSQL, or the REST store against a real server."""
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    if request.param == "sqlite":
        uri, artifacts, server = f"sqlite:///{home / 'tracking.db'}", home / "artifacts", None
    elif request.param == "postgres":
        uri, artifacts, server = request.getfixturevalue("postgres_uri"), home / "artifacts", None
    else:
        server = request.getfixturevalue("running_server")
        uri, artifacts = str(server), Path(server.artifacts_destination)
    env = {"TRACKFLOW_HOME": str(home), "TRACKFLOW_ARTIFACTS_DESTINATION": str(artifacts)}
    return TrackingBackend(request.param, uri, artifacts, home, server, env)


@pytest.fixture
def client(tracking_backend: TrackingBackend) -> Any:
    """A trackflow.Client on the current backend."""
    return tracking_backend.client()


@pytest.fixture
def experiment_id(client: Any) -> str:
    """A fresh experiment with a unique name (backends are shared across tests)."""
    return str(client.create_experiment(f"exp-{uuid.uuid4().hex[:10]}"))


@pytest.fixture
def fluent(tracking_backend: TrackingBackend, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``trackflow.tracking.fluent`` pointed at the current backend, reset afterwards.

    The fluent API keeps the tracking URI, chosen experiment and active-run stack as process
    state (as MLflow does), so this fixture ends leftover runs and restores that state.
    """
    from trackflow.tracking import backend as backend_module
    from trackflow.tracking import fluent as fluent_module

    for key, value in tracking_backend.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("TRACKFLOW_TRACKING_URI", raising=False)
    saved = dict(fluent_module._state)
    fluent_module.set_tracking_uri(tracking_backend.tracking_uri)
    try:
        yield fluent_module
    finally:
        while fluent_module.active_run() is not None:
            fluent_module.end_run()
        for key in ("tracking_uri", "experiment_id"):
            fluent_module._state[key] = saved[key]
        fluent_module._state["client"] = None
        backend_module.set_default_tracking_uri(saved["tracking_uri"])
