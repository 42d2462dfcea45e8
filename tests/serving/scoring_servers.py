"""Scoring servers as real processes, for the tests that compare trackflow's with MLflow's:
``mlflow models serve`` from the pinned peer (tests/peers.py) and ``trackflow models serve``
from this interpreter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from peers import PeerURL, clean_env, mlflow_peer_bin, wait_until_ready


@contextmanager
def serving(command: list[str], env: dict[str, str], log_path: Path, port: int, what: str) -> Iterator[PeerURL]:
    """Run a scoring server until the block ends; it is ready when ``/ping`` answers 200.

    The server runs in its own process group, which is stopped as a whole: ``mlflow models
    serve`` runs uvicorn as a child process."""
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    url = PeerURL(f"http://127.0.0.1:{port}")
    url.process, url.log_path = process, log_path
    try:
        wait_until_ready(url, "/ping", what)
        yield url
    finally:
        _stop_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _stop_group(process, signal.SIGKILL)
            process.wait(timeout=15)


def _stop_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def mlflow_serve_command(model_uri: str, port: int) -> list[str]:
    return [str(mlflow_peer_bin("mlflow")), "models", "serve", "-m", model_uri, "--env-manager", "local",
            "--host", "127.0.0.1", "--port", str(port)]


def mlflow_serve_env(**extra: str) -> dict[str, str]:
    """The peer's environment (``extra`` may set MLFLOW_TRACKING_URI); ``mlflow models serve``
    starts ``uvicorn`` from PATH, so the peer's bin directory comes first."""
    env = clean_env(**extra)
    env["PATH"] = f"{mlflow_peer_bin('python').parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def trackflow_serve_command(model_uri: str, port: int, *global_options: str) -> list[str]:
    return [sys.executable, "-m", "trackflow", *global_options, "models", "serve", "-m", model_uri,
            "--port", str(port)]


def trackflow_serve_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env.update({"TRACKFLOW_HOME": str(home), "PYTHONUNBUFFERED": "1", **extra})
    return env
