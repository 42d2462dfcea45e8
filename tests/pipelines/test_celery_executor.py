"""The Celery executor on real processes: `trackflow worker`s on Redis and on RabbitMQ, the
server's task API, the scheduler service. The same DAG files end the same as on the local
executor; a task's queue= picks its workers; a worker SIGKILLed mid-task loses nothing and
runs nothing twice. Executions are counted from files the task bodies append to."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import DAGS, wait_for

from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.service import ServiceOptions

# DAG files of the suite that run end to end without a network (fixtures of other tests too).
SAME_DAGS = ("branching", "groups", "mapping", "retries", "taskflow_etl", "trigger_rules", "tracked_outputs")
FILES = ("branching.py", "groups.py", "mapping.py", "retries.py", "taskflow_etl.py", "trigger_rules.py",
         "tracked_outputs.py")
LOGICAL_DATE = datetime(2025, 3, 1, tzinfo=UTC)


def make_settings(root: Path, files: tuple[str, ...]) -> Settings:
    dags = root / "dags"
    dags.mkdir(parents=True)
    for name in files:
        shutil.copy(DAGS / name, dags / name)
    (root / "out").mkdir()
    return Settings(home=str(root / "home"), dags_folder=str(dags), parallelism=8)


def outcome(p: Pipelines, dag_id: str, run_id: str) -> dict[str, Any]:
    """What a run ended with: its state, every task instance's state and tries, inline values."""
    detail = p.run_detail(dag_id, run_id)
    # all_success below a failure and a skip that run at once takes whichever ends first
    # (upstream_failed or skipped), in Airflow too: a race, not a property of the executor.
    racy = {"all_success__bad_skip"}
    values = {}
    for ti in detail.task_instances:
        for out in p.store.get_outputs(dag_id, run_id, ti.task_id):
            values[(out.task_id, out.map_index)] = out.data if out.uri is None else ("artifact", out.size_bytes)
    return {"run": detail.run.state,
            "tis": sorted((t.task_id, t.map_index, t.state, t.try_number) for t in detail.task_instances
                          if t.task_id not in racy),
            "values": values}


def run_all(settings: Settings, executor: str, out: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    results: dict[str, Any] = {}
    with deployment(settings, executor, FAST, workers=2, dag_ids=SAME_DAGS) as d:
        for dag_id in SAME_DAGS:
            d.pipelines.trigger(dag_id, logical_date=LOGICAL_DATE, run_id="same")
        for dag_id in SAME_DAGS:
            d.run_to_end(dag_id, "same")
            results[dag_id] = outcome(d.pipelines, dag_id, "same")
        results["callbacks"] = sorted((out / "callbacks.txt").read_text().splitlines())
    return results


@pytest.fixture(scope="module")
def local_outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("local")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return run_all(make_settings(root, FILES), "local", root / "out", monkeypatch)


@pytest.mark.parametrize("executor", ["celery-redis", "celery-rabbitmq"])
def test_the_same_dag_files_end_the_same_on_celery(executor: str, local_outcomes: dict[str, Any], tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert local_outcomes["branching"]["run"] == "success"  # the reference itself ran
    assert local_outcomes["retries"]["run"] == "failed"
    celery = run_all(make_settings(tmp_path, FILES), executor, tmp_path / "out", monkeypatch)
    for dag_id in SAME_DAGS:
        assert celery[dag_id] == local_outcomes[dag_id], dag_id
    assert celery["callbacks"] == local_outcomes["callbacks"]


QUEUES_DAG = """
import os
from datetime import datetime
from pathlib import Path

import psutil

from trackflow import dag, task


def worker_pid() -> int:
    # a task process is a fork of a pool process of the worker that took the message
    return psutil.Process(os.getppid()).ppid()


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def queues():
    @task(queue="special")
    def on_special():
        Path(os.environ["TF_TEST_OUT"], "special.txt").write_text(str(worker_pid()))

    @task
    def on_default():
        Path(os.environ["TF_TEST_OUT"], "default.txt").write_text(str(worker_pid()))

    on_special() >> on_default()


queues()
"""


def test_a_task_queue_picks_the_workers_that_run_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, ())
    (Path(settings.resolved_dags_folder) / "queues.py").write_text(QUEUES_DAG)
    out = tmp_path / "out"
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    with deployment(settings, "celery-redis", FAST, workers=0, dag_ids=("queues",),
                    queues=("default", "special")) as d:
        default = d.start_worker(tmp_path / "w-default", queues="default", concurrency=1)
        special = d.start_worker(tmp_path / "w-special", queues="special", concurrency=1)
        d.pipelines.trigger("queues", run_id="q")
        assert d.run_to_end("queues", "q") == "success"
    assert int((out / "special.txt").read_text()) == special.proc.pid
    assert int((out / "default.txt").read_text()) == default.proc.pid


# Short heartbeats: a try whose process died is found within seconds.
KILL_OPTIONS = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=0.5,
                              heartbeat_timeout=4.0, queued_timeout=60.0)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.parametrize("with_tasks", [False, True], ids=["worker-only", "worker-and-its-tasks"])
def test_a_sigkilled_worker_loses_nothing_and_runs_nothing_twice(with_tasks: bool, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL of the worker running a task, alone (its task process lives on: it finishes
    through the task API) or with its task processes (the machine died: the lost heartbeat
    fails the try, the retry runs on the other worker). Either way: nothing lost, no body run
    to its end twice, the run finishes."""
    settings = make_settings(tmp_path, ())
    shutil.copy(DAGS / "held.py", Path(settings.resolved_dags_folder) / "held.py")
    out = tmp_path / "out"
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    with deployment(settings, "celery-redis", KILL_OPTIONS, workers=2, dag_ids=("held",)) as d:
        d.pipelines.trigger("held", run_id="k")
        d.service.wake()
        wait_for(lambda: any(line.startswith("start 1") for line in lines(out / "body.txt")), "the first try")
        victim_pid = int(lines(out / "body.txt")[0].split()[2])
        [victim] = [w for w in d.workers if w.proc.pid == victim_pid]
        victim.sigkill(with_tasks=with_tasks)
        (out / "release").touch()
        assert d.run_to_end("held", "k") == "success"
        tis = {t.task_id: t for t in d.pipelines.run_detail("held", "k").task_instances}
    body = lines(out / "body.txt")
    ends = [line for line in body if line.startswith("end")]
    assert len(ends) == 1, body  # run to its end once: nothing ran twice
    if with_tasks:
        assert [line.split()[:2] for line in body] == [["start", "1"], ["start", "2"], ["end", "2"]]
        assert int(body[1].split()[2]) != victim_pid  # the retry ran on the surviving worker
        assert (tis["body"].state, tis["body"].try_number) == ("success", 2)
        assert lines(out / "after.txt") == ["2"]
    else:
        assert [line.split()[:2] for line in body] == [["start", "1"], ["end", "1"]]
        assert (tis["body"].state, tis["body"].try_number) == ("success", 1)
        assert lines(out / "after.txt") == ["1"]  # nothing lost: the value reached downstream
