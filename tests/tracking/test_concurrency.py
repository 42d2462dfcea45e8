"""16 clients logging at once lose no point and never see "database is locked".

Each writer logs POINTS single-metric calls (one transaction each) to its own run and to one
run shared by all writers, plus a param and a tag; afterwards every point must be there.
Run against a SQLite-backed server (REST clients) and embedded SQLite, with threads and
with separate processes (real file-lock contention between processes).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from trackflow.config import Settings
from trackflow.tracking.client import Client

WRITERS = 16
POINTS = 25

WRITER = textwrap.dedent(
    """
    import sys
    from trackflow.config import Settings
    from trackflow.tracking.client import Client

    def write(uri, home, own_run, shared_run, index, points):
        client = Client(uri, settings=Settings(home=home))
        for step in range(points):
            client.log_metric(own_run, "loss", 1.0 / (step + 1), step=step)
            client.log_metric(shared_run, "points", float(index), step=index * points + step)
        client.log_param(own_run, "writer", str(index))
        client.set_tag(shared_run, f"writer-{index}", "done")

    if __name__ == "__main__":
        uri, home, own, shared, index, points = sys.argv[1:]
        write(uri, home, own, shared, int(index), int(points))
    """
)


def _prepare(client: Client) -> tuple[str, list[str], str]:
    experiment_id = client.create_experiment(f"concurrency-{uuid.uuid4().hex[:8]}")
    own = [client.create_run(experiment_id, run_name=f"w{i}").info.run_id for i in range(WRITERS)]
    shared = client.create_run(experiment_id, run_name="shared").info.run_id
    return experiment_id, own, shared


def _check(client: Client, own: list[str], shared: str) -> None:
    for index, run_id in enumerate(own):
        run = client.get_run(run_id)
        assert run.data.params == {"writer": str(index)}
        assert [m.step for m in client.get_metric_history(run_id, "loss")] == list(range(POINTS))
    history = client.get_metric_history(shared, "points")
    assert sorted(m.step for m in history) == list(range(WRITERS * POINTS))
    assert all(m.value == m.step // POINTS for m in history)
    shared_run = client.get_run(shared)
    assert shared_run.data.metrics["points"] == WRITERS - 1  # the highest step wins
    assert {k for k in shared_run.data.tags if k.startswith("writer-")} == {f"writer-{i}" for i in range(WRITERS)}


def _write_in_threads(uri: str, home: str, own: list[str], shared: str) -> None:
    namespace: dict[str, Any] = {}
    exec(WRITER, namespace)  # the same writer the processes run
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def target(index: int) -> None:
        try:
            barrier.wait()
            namespace["write"](uri, home, own[index], shared, index, POINTS)
        except BaseException as exc:  # noqa: BLE001 - reported below with the writer's index
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, [repr(e) for e in errors]


def _write_in_processes(uri: str, home: str, own: list[str], shared: str, tmp_path: Path) -> None:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    processes = [
        subprocess.Popen(
            [sys.executable, str(script), uri, home, own[i], shared, str(i), str(POINTS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for i in range(WRITERS)
    ]
    failures = []
    for index, process in enumerate(processes):
        output, _ = process.communicate(timeout=240)
        if process.returncode != 0 or b"database is locked" in output:
            failures.append(f"writer {index} exited {process.returncode}:\n{output.decode(errors='replace')}")
    assert not failures, "\n".join(failures)


@pytest.fixture(params=["server", "embedded-sqlite"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(tracking URI, TRACKFLOW_HOME) of a SQLite-backed server or a fresh SQLite file."""
    if request.param == "server":
        return str(request.getfixturevalue("running_server")), str(tmp_path)
    return f"sqlite:///{tmp_path / 'concurrent.db'}", str(tmp_path)


def _assert_never_locked(uri: str, request: pytest.FixtureRequest) -> None:
    if uri.startswith("http"):
        assert "database is locked" not in request.getfixturevalue("running_server").log()


def test_concurrent_threads_lose_nothing(target: tuple[str, str], request: pytest.FixtureRequest) -> None:
    uri, home = target
    client = Client(uri, settings=Settings(home=home))
    _, own, shared = _prepare(client)
    _write_in_threads(uri, home, own, shared)
    _check(client, own, shared)
    _assert_never_locked(uri, request)


def test_concurrent_processes_lose_nothing(
    target: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    uri, home = target
    client = Client(uri, settings=Settings(home=home))
    _, own, shared = _prepare(client)
    _write_in_processes(uri, home, own, shared, tmp_path)
    _check(client, own, shared)
    _assert_never_locked(uri, request)
