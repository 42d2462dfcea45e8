"""What a new user mistypes at start-up gets one line and exit code 2, never a traceback:
a PostgreSQL database that does not exist, a port nobody listens on, a server port in use."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from servers import free_port


def _trackflow(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env["TRACKFLOW_HOME"] = str(tmp_path / "home")
    return subprocess.run(
        [sys.executable, "-m", "trackflow", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.postgres
def test_missing_postgres_database(tmp_path: Path, postgres_uri: str) -> None:
    missing = postgres_uri.rsplit("/", 1)[0] + "/tf_does_not_exist"
    result = _trackflow(tmp_path, "--tracking-uri", missing, "experiments", "list")
    _assert_one_line_error(result, "cannot connect to the database", "tf_does_not_exist", "does not exist")


def test_nobody_listening_on_the_database_port(tmp_path: Path) -> None:
    result = _trackflow(tmp_path, "--tracking-uri", f"postgresql://postgres@127.0.0.1:{free_port()}/x", "runs", "list")
    _assert_one_line_error(result, "cannot connect to the database", "refused")


@pytest.mark.postgres
def test_server_with_missing_database(tmp_path: Path, postgres_uri: str) -> None:
    missing = postgres_uri.rsplit("/", 1)[0] + "/tf_does_not_exist"
    result = _trackflow(tmp_path, "server", "--port", str(free_port()), "--backend-store-uri", missing)
    _assert_one_line_error(result, "cannot connect to the database")


def test_server_on_a_port_in_use_fails_before_announcing_itself(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _trackflow(tmp_path, "server", "--port", str(port))
    _assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}", "in use")
    assert "trackflow server on" not in result.stderr
