"""Faults on real processes, each while a task surely runs (held by tests/dags/held.py): the
scheduler SIGKILLed, the server SIGKILLed under Celery workers, PostgreSQL restarted, Redis
(the broker) killed and restarted empty. Each test names what was lost (nothing) and what ran
twice (nothing), and that the run finishes: counted from the files the task bodies append to."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from pipeline_helpers import DAGS, wait_for
from private_services import private_postgres, private_redis

from servers import free_port
from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines

pytestmark = pytest.mark.slow


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class Proc:
    """A `python -m trackflow ...` process with its output in a file, stoppable by signal."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "trackflow", *args], stdout=out,
                                         stderr=subprocess.STDOUT, env=env, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def sigkill(self) -> None:
        """The process alone (not what it started in sessions of their own: task processes)."""
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@contextmanager
def running(*procs: Proc) -> Iterator[None]:
    try:
        yield
    finally:
        for p in procs:
            p.stop()


class Setup:
    def __init__(self, tmp_path: Path, tracking_uri: str, **env: str) -> None:
        self.root = tmp_path
        self.out = tmp_path / "out"
        self.out.mkdir()
        self.dags = tmp_path / "dags"
        self.dags.mkdir()
        shutil.copy(DAGS / "held.py", self.dags / "held.py")
        self.tracking_uri = tracking_uri
        base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
        self.env = {**base, "TRACKFLOW_HOME": str(tmp_path / "home"), "TRACKFLOW_TRACKING_URI": tracking_uri,
                    "TRACKFLOW_DAGS_FOLDER": str(self.dags), "TF_TEST_OUT": str(self.out), "PYTHONUNBUFFERED": "1",
                    **env}
        self.settings = Settings(home=str(tmp_path / "home"), tracking_uri=tracking_uri, dags_folder=str(self.dags))

    def proc(self, name: str, *args: str, **env: str) -> Proc:
        return Proc(list(args), {**self.env, **env}, self.root / f"{name}.log")

    def pipelines(self) -> Pipelines:
        return Pipelines(self.settings)

    def trigger(self, dag_id: str, run_id: str) -> None:
        p = self.pipelines()
        wait_for(lambda: dag_id in {d.dag_id for d in p.list_dags()}, f"{dag_id} to be parsed")
        p.set_paused(dag_id, False)
        p.trigger(dag_id, run_id=run_id)

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.pipelines().store.get_dag_run(dag_id, run_id).state

    def wait_end(self, dag_id: str, run_id: str, *procs: Proc) -> str:
        def ended() -> bool:
            for p in procs:
                assert p.proc.poll() is None, f"{p.log.name} exited:\n{p.output()}"
            return self.run_state(dag_id, run_id) in ("success", "failed")

        wait_for(ended, f"{run_id} to end", limit=120)
        return self.run_state(dag_id, run_id)

    def started(self, name: str, try_number: int = 1) -> None:
        wait_for(lambda: any(line.startswith(f"start {try_number}") for line in lines(self.out / f"{name}.txt")),
                 f"{name} try {try_number} to start")

    def release(self) -> None:
        (self.out / "release").touch()

    def bodies(self, name: str) -> list[str]:
        return [" ".join(line.split()[:2]) for line in lines(self.out / f"{name}.txt")]


def test_scheduler_sigkilled_mid_task_loses_nothing_and_runs_nothing_twice(tmp_path: Path) -> None:
    s = Setup(tmp_path, f"sqlite:///{tmp_path / 'tf.db'}")
    first = s.proc("scheduler-1", "scheduler")
    with running(first):
        s.trigger("held", "r")
        s.started("body")
        first.sigkill()  # its task process lives on, in a session of its own
        second = s.proc("scheduler-2", "scheduler")  # takes the dead scheduler's lease over at once
        with running(second):
            s.release()
            assert s.wait_end("held", "r", second) == "success", second.output()
    assert s.bodies("body") == ["start 1", "end 1"]  # ran once, to its end
    assert lines(s.out / "after.txt") == ["1"]  # its value reached downstream: nothing lost
    ti = s.pipelines().store.get_task_instance("held", "r", "body")
    assert (ti.state, ti.try_number) == ("success", 1)


def test_postgresql_restart_mid_task_loses_nothing_and_runs_nothing_twice(tmp_path: Path) -> None:
    with private_postgres() as pg:
        s = Setup(tmp_path, pg.uri)
        port = free_port()
        server = s.proc("server", "server", "--port", str(port))
        with running(server):
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/version"), "the server")
            s.trigger("held", "r")
            s.started("body")
            pg.stop()
            # the database is gone: the API says so (503), it does not fail (500)
            down = requests.get(f"http://127.0.0.1:{port}/api/v1/dags", timeout=30)
            assert down.status_code == 503, down.text
            s.release()  # the task ends while the database is down: its writes wait for it
            wait_for(lambda: lines(s.out / "body.txt")[-1:] == ["end 1"], "the body to end")
            time.sleep(1.0)
            pg.start()
            assert s.wait_end("held", "r", server) == "success", server.output()
    assert s.bodies("body") == ["start 1", "end 1"]
    assert lines(s.out / "after.txt") == ["1"]


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def celery_env(s: Setup, broker: str, port: int) -> dict[str, str]:
    return {"TRACKFLOW_EXECUTOR": "celery", "TRACKFLOW_CELERY_BROKER_URL": broker,
            "TRACKFLOW_SERVER_URL": f"http://127.0.0.1:{port}"}


def start_worker(s: Setup, name: str, broker: str) -> Proc:
    home = s.root / name
    home.mkdir()
    worker = s.proc(name, "worker", "--concurrency", "1", "--broker-url", broker, TRACKFLOW_HOME=str(home),
                    TRACKFLOW_TRACKING_URI="postgresql://nobody@127.0.0.1:1/none")  # no database access
    wait_for(lambda: " ready." in worker.output(), f"{name} to be ready")
    return worker


def test_server_sigkilled_under_celery_workers_loses_nothing(tmp_path: Path) -> None:
    """The server (API, task API, scheduler) dies while a worker's task runs and comes back on
    the same address: the task's reports wait for it (retried), the run finishes."""
    import redis

    broker = "redis://127.0.0.1:6379/11"
    redis.Redis.from_url(broker).flushdb()
    port = free_port()
    s = Setup(tmp_path, f"sqlite:///{tmp_path / 'tf.db'}")
    env = celery_env(s, broker, port)
    server = s.proc("server-1", "server", "--port", str(port), **env)
    worker = start_worker(s, "worker", broker)
    with running(server, worker):
        wait_for(lambda: _answers(f"http://127.0.0.1:{port}/version"), "the server")
        s.trigger("held", "r")
        s.started("body")
        server.sigkill()
        s.release()
        wait_for(lambda: lines(s.out / "body.txt")[-1:] == ["end 1"], "the body to end")
        again = s.proc("server-2", "server", "--port", str(port), **env)
        with running(again):
            assert s.wait_end("held", "r", again, worker) == "success", again.output() + worker.output()
    assert s.bodies("body") == ["start 1", "end 1"]
    assert lines(s.out / "after.txt") == ["1"]


def test_broker_killed_and_restarted_empty_loses_no_task(tmp_path: Path) -> None:
    """Redis keeps nothing on disk: killed, it loses the message of a queued try and the result
    of a running one. The running try finishes through the task API; the lost one is queued
    again after the queued timeout; each body runs once."""
    with private_redis() as broker:
        port = free_port()
        s = Setup(tmp_path, f"sqlite:///{tmp_path / 'tf.db'}")
        env = {**celery_env(s, broker.url, port), "TRACKFLOW_QUEUED_TIMEOUT": "4", "TRACKFLOW_HEARTBEAT_INTERVAL": "1"}
        server = s.proc("server", "server", "--port", str(port), **env)
        worker = start_worker(s, "worker", broker.url)  # one slot: the second task waits in the broker
        with running(server, worker):
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/version"), "the server")
            s.trigger("held_pair", "r")
            wait_for(lambda: lines(s.out / "first.txt") or lines(s.out / "second.txt"), "a task to start")
            time.sleep(0.5)  # the other one's message sits in Redis
            broker.kill()
            health = requests.get(f"http://127.0.0.1:{port}/health", headers={"Accept": "application/json"},
                                  timeout=30)
            assert health.status_code == 503 and "Celery broker" in " ".join(health.json()["failing"])
            broker.start()  # empty
            assert requests.get(f"http://127.0.0.1:{port}/health", timeout=30).status_code == 200
            s.release()
            assert s.wait_end("held_pair", "r", server, worker) == "success", server.output() + worker.output()
        # each body ran once, to its end; the lost one as a later try (its first never started)
        for name in ("first", "second"):
            [(start, n), (end, m)] = [line.split() for line in s.bodies(name)]
            assert (start, end, n) == ("start", "end", m)
        ti = {t.task_id: t for t in s.pipelines().run_detail("held_pair", "r").task_instances}
        assert {t.state for t in ti.values()} == {"success"}


@contextmanager
def tiny_filesystem(path: Path, size_kb: int) -> Iterator[Path]:
    """A tmpfs of ``size_kb`` at ``path`` (mounting needs root: CI runs as root)."""
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("the disk-full test mounts a tmpfs and needs root in CI", pytrace=False)
        pytest.skip("mounting a tmpfs needs root")
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_artifact_disk_full_fails_clearly_loses_nothing_and_recovers(tmp_path: Path) -> None:
    """The artifact store's disk fills up: an upload answers 507 with a message (not 500) and
    leaves what was stored intact; a task whose value no longer fits fails once, naming the
    cause, the server stays up; once space is freed, clearing the task finishes the run."""
    from mlflow import MlflowClient

    with tiny_filesystem(tmp_path / "artifacts", 2048) as store:
        s = Setup(tmp_path, f"sqlite:///{tmp_path / 'tf.db'}")
        shutil.copy(DAGS / "storage.py", s.dags / "storage.py")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = s.proc("server", "server", "--port", str(port), "--artifacts-destination", str(store))
        with running(server):
            wait_for(lambda: _answers(f"{url}/version"), "the server")
            client = MlflowClient(tracking_uri=url)
            run_id = client.create_run(client.create_experiment("full")).info.run_id
            client.log_text(run_id, "kept", "kept.txt")
            (store / "filler").write_bytes(b"\0" * (1800 * 1024))  # leaves less than 1 MiB
            big = tmp_path / "big.bin"
            big.write_bytes(os.urandom(1024 * 1024))
            # mlflow's artifact client raises requests' HTTPError carrying our answer
            with pytest.raises(requests.HTTPError, match=r"507 .*the artifact store is full"):
                client.log_artifact(run_id, str(big))
            assert client.download_artifacts(run_id, "kept.txt", str(tmp_path / "dl")).endswith("kept.txt")
            assert (tmp_path / "dl" / "kept.txt").read_text() == "kept"

            s.trigger("storage", "r")
            assert s.wait_end("storage", "r", server) == "failed"
            tis = {t.task_id: t for t in s.pipelines().run_detail("storage", "r").task_instances}
            assert (tis["small"].state, tis["big"].state, tis["after"].state) == ("success", "failed",
                                                                                   "upstream_failed")
            assert "artifact store is full" in (tis["big"].note or "")
            assert lines(s.out / "big.txt") == ["ran"]  # failed once, not retried behind our back

            (store / "filler").unlink()
            p = s.pipelines()
            p.clear("storage", "r", ["big"], include_downstream=True)
            assert s.wait_end("storage", "r", server) == "success", server.output()
        assert lines(s.out / "small.txt") == ["ran"]  # kept its value: not run again
        assert lines(s.out / "big.txt") == ["ran", "ran"]
        assert lines(s.out / "after.txt") == [f"ok {1024 * 1024}"]
