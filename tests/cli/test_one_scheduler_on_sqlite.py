"""SQLite allows one scheduler per database: a second `trackflow scheduler` or `trackflow
server` on it exits at once with one line naming the first (host:pid) and why; `server
--no-scheduler` still starts. An explicit SQLite URI in a missing directory is an error, not
a silently created directory; the default home is still created."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from servers import free_port

LIMIT = 90.0  # generous bound for a loaded machine, not a timing assertion


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env["TRACKFLOW_HOME"] = str(home)
    return env


def _trackflow(home: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackflow", *args], env=_env(home), capture_output=True,
                          text=True, timeout=timeout)


def _one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _lease_holder(db: Path) -> str | None:
    try:
        with sqlite3.connect(db) as conn:
            row = conn.execute("SELECT holder FROM pl_scheduler_lease WHERE name = 'scheduler'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


@pytest.fixture
def first_scheduler(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A running `trackflow scheduler` holding the lease of tmp_path/home/trackflow.db."""
    home = tmp_path / "home"
    log = open(tmp_path / "first.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "trackflow", "scheduler"], env=_env(home), stdout=log,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + LIMIT
        while _lease_holder(home / "trackflow.db") is None:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()
            assert time.monotonic() < deadline, "the first scheduler never took the lease"
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()


def test_second_scheduler_and_server_refuse_to_start(tmp_path: Path, first_scheduler: subprocess.Popen[str]) -> None:
    home = tmp_path / "home"
    holder = f"{socket.gethostname()}:{first_scheduler.pid}"
    assert (_lease_holder(home / "trackflow.db") or "").startswith(holder + ":")

    second = _trackflow(home, "scheduler")
    _one_line_error(second, holder, "SQLite allows one scheduler")

    server = _trackflow(home, "server", "--port", str(free_port()))
    _one_line_error(server, holder, "SQLite allows one scheduler", "--no-scheduler")

    # Without a scheduler the server starts beside the first one, and is healthy.
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "trackflow", "server", "--port", str(port), "--no-scheduler"],
                            env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:


        deadline = time.monotonic() + LIMIT
        while True:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/health", timeout=5,
                                      headers={"Accept": "application/json"})
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server --no-scheduler never answered"
                time.sleep(0.2)
        assert answer.status_code == 200, answer.text
        assert answer.json()["scheduler"] == {"ok": True, "running": False}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (_lease_holder(home / "trackflow.db") or "").startswith(holder + ":")


def test_a_killed_schedulers_lease_does_not_block_the_next(tmp_path: Path,
                                                           first_scheduler: subprocess.Popen[str]) -> None:
    """SIGKILL leaves the lease row behind; its holder's process is gone, so a new scheduler
    on this machine takes over at once instead of refusing."""
    home = tmp_path / "home"
    first_scheduler.kill()
    first_scheduler.wait(timeout=30)
    proc = subprocess.Popen([sys.executable, "-m", "trackflow", "scheduler"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:


        deadline = time.monotonic() + LIMIT
        while not (_lease_holder(home / "trackflow.db") or "").startswith(f"{socket.gethostname()}:{proc.pid}:"):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the new scheduler never took over the lease"
            time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


# Explicit SQLite URIs in missing directories -------------------------------------------------
def test_explicit_sqlite_uri_in_a_missing_directory_is_an_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = tmp_path / "missing" / "dir"
    uri = f"sqlite:///{missing}/x.db"
    expected = f"directory {missing} does not exist"
    _one_line_error(_trackflow(home, "--tracking-uri", uri, "experiments", "list"), expected)
    _one_line_error(_trackflow(home, "--tracking-uri", uri, "dags", "list"), expected)
    _one_line_error(_trackflow(home, "server", "--port", str(free_port()), "--backend-store-uri", uri), expected)
    _one_line_error(_trackflow(home, "scheduler", "--backend-store-uri", uri), expected)
    env_uri = subprocess.run([sys.executable, "-m", "trackflow", "runs", "list"], capture_output=True, text=True,
                             env={**_env(home), "TRACKFLOW_TRACKING_URI": uri}, timeout=120)
    _one_line_error(env_uri, expected)
    _one_line_error(_trackflow(home, "--tracking-uri", "sqlite:////nonexistent/dir/x.db", "experiments", "list"),
                    "directory /nonexistent/dir does not exist")
    assert not missing.parent.exists()


def test_the_default_home_is_still_created(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    result = _trackflow(home, "experiments", "list")
    assert result.returncode == 0, result.stderr
    assert (home / "trackflow.db").is_file()
