"""The real MLflow as the oracle: its pinned virtualenv (``.peers/mlflow``, made by
``scripts/ensure-peers.sh``), a real ``mlflow server`` on a free port, and scripts run with the
peer's own interpreter (the full ``mlflow`` package, unchanged user code).

On a developer machine without the peer the differential tests skip; with ``CI`` set they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from servers import free_port

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_PEER = ROOT / ".peers" / "mlflow"
MLFLOW_VERSION = "3.17.2"
START_TIMEOUT_S = 90  # generous for a loaded 2-core machine; not a timing assertion


def mlflow_peer_bin(name: str = "python") -> Path:
    """A program of the peer venv (``python``, ``mlflow``); skips (fails in CI) when it is missing."""
    path = MLFLOW_PEER / "bin" / name
    if not (MLFLOW_PEER / f".ok-{MLFLOW_VERSION}").exists() or not path.exists():
        reason = f"the MLflow {MLFLOW_VERSION} peer is not installed (run: bash scripts/ensure-peers.sh)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a peer process: no trackflow/MLflow settings leak in from the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_", "PYTHON"))}
    env.update({"PYTHONUNBUFFERED": "1", "MLFLOW_ENABLE_ASYNC_LOGGING": "false", **extra})
    return env


class PeerURL(str):
    """Base URL of a running peer server, carrying its process and log."""

    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def wait_until_ready(url: Any, path: str, what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll ``url + path`` until it answers 200; fail with the process's log if it exits first
    or never answers. ``url`` is a str carrying ``.process`` and ``.log()`` (PeerURL, ServerURL)."""
    deadline = time.monotonic() + timeout
    while True:
        if url.process.poll() is not None:
            pytest.fail(f"{what} exited with code {url.process.returncode}:\n{url.log()[-5000:]}", pytrace=False)
        try:
            if requests.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or a loaded machine
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} at {url} never answered {path}:\n{url.log()[-5000:]}", pytrace=False)
        time.sleep(0.2)


@contextmanager
def run_peer_process(command: list[str], log_path: Path, ready_path: str, what: str, port: int,
                     **env: str) -> Iterator[PeerURL]:
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=clean_env(**env))
    url = PeerURL(f"http://127.0.0.1:{port}")
    url.process, url.log_path = process, log_path
    try:
        wait_until_ready(url, ready_path, what)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def start_mlflow_server(workdir: Path) -> Iterator[PeerURL]:
    """``mlflow server --workers 1`` on SQLite with proxied artifacts under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    command = [
        str(mlflow_peer_bin("mlflow")),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--artifacts-destination",
        str(workdir / "artifacts"),
    ]
    with run_peer_process(command, workdir / f"mlflow-{port}.log", "/health", "mlflow server", port) as url:
        yield url


@contextmanager
def start_mlflow_auth_server(workdir: Path, admin: str, password: str, default_permission: str = "READ"
                             ) -> Iterator[PeerURL]:
    """``mlflow server --app-name basic-auth`` (needs ``mlflow[auth]``'s Flask-WTF in the peer):
    its users and permissions in their own SQLite file, configured by the basic_auth.ini that
    MLFLOW_AUTH_CONFIG_PATH names, with ``admin`` / ``password`` as its first admin."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "basic_auth.ini"
    config.write_text(f"[mlflow]\ndefault_permission = {default_permission}\n"
                      f"database_uri = sqlite:///{workdir / 'basic_auth.db'}\nadmin_username = {admin}\n"
                      f"admin_password = {password}\n"
                      "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n")
    port = free_port()
    command = [str(mlflow_peer_bin("mlflow")), "server", "--app-name", "basic-auth", "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1", "--backend-store-uri", f"sqlite:///{workdir / 'mlflow.db'}",
               "--artifacts-destination", str(workdir / "artifacts")]
    with run_peer_process(command, workdir / f"mlflow-auth-{port}.log", "/health", "mlflow basic-auth server", port,
                          MLFLOW_AUTH_CONFIG_PATH=str(config), MLFLOW_FLASK_SERVER_SECRET_KEY="trackflow-tests") as url:
        yield url


def run_peer_script(script: Path, tracking_uri: str, *args: str, cwd: Path, timeout: float = 300) -> Any:
    """Run ``script`` with the peer's python and ``MLFLOW_TRACKING_URI``; the script prints one
    JSON document as its last stdout line, which is returned. Fails with its output otherwise."""
    result = subprocess.run(
        [str(mlflow_peer_bin("python")), str(script), *args],
        cwd=cwd,
        env=clean_env(MLFLOW_TRACKING_URI=tracking_uri),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        pytest.fail(
            f"{script.name} against {tracking_uri} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-5000:]}\n--- stderr ---\n{result.stderr[-8000:]}",
            pytrace=False,
        )
    return json.loads(lines[-1])

