"""16 processes start at once on a database that does not exist yet: each runs the migrations
(or waits for the one that does), calls ``set_experiment`` on the same new name and logs 200
points. Nothing may fail ("database is locked", "experiment already exists") and every point
must land, on SQLite and on PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from trackflow.config import Settings
from trackflow.tracking.client import Client

PROCESSES = 16
POINTS = 200

STARTER = textwrap.dedent(
    """
    import sys
    import trackflow

    uri, experiment, index, points = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    trackflow.set_tracking_uri(uri)
    trackflow.set_experiment(experiment)
    with trackflow.start_run(run_name=f"starter-{index}"):
        trackflow.log_metrics({f"m{step}": float(step) for step in range(points)})
    """
)


def _start_all(tmp_path: Path, uri: str) -> str:
    experiment = f"first-start-{uuid.uuid4().hex[:8]}"
    script = tmp_path / "starter.py"
    script.write_text(STARTER)
    env = {"TRACKFLOW_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), uri, experiment, str(i), str(POINTS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(PROCESSES)
    ]
    failures = []
    for process in processes:
        output, _ = process.communicate(timeout=240)
        if process.returncode != 0:
            failures.append(output.decode(errors="replace")[-2000:])
    assert not failures, f"{len(failures)} of {PROCESSES} processes failed; first:\n{failures[0]}"
    return experiment


def _assert_every_point(uri: str, home: Path, experiment: str) -> None:
    client = Client(uri, settings=Settings(home=str(home)))
    found = client.get_experiment_by_name(experiment)
    assert found is not None
    runs = client.search_runs([found.experiment_id], max_results=100).items
    assert len(runs) == PROCESSES
    assert sum(len(run.data.metrics) for run in runs) == PROCESSES * POINTS


def test_sixteen_processes_on_a_new_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "fresh").mkdir()  # a new database file; its directory must exist (a missing one is a typo)
    uri = f"sqlite:///{tmp_path / 'fresh' / 'tracking.db'}"
    experiment = _start_all(tmp_path, uri)
    _assert_every_point(uri, tmp_path / "home", experiment)


@pytest.mark.postgres
def test_sixteen_processes_on_a_new_postgres_database(tmp_path: Path, postgres_uri: str) -> None:
    import psycopg

    name = f"tf_fresh_{uuid.uuid4().hex[:10]}"
    admin = postgres_uri.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    uri = postgres_uri.rsplit("/", 1)[0] + f"/{name}"
    try:
        experiment = _start_all(tmp_path, uri)
        _assert_every_point(uri, tmp_path / "home", experiment)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
