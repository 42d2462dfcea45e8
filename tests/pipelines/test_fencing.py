"""The double-run regression tests of issue 10, on real processes (the scheduler service, its
executor helper and forked task processes): executions are counted from files the task
bodies append to (tests/dags/fencing.py), never inferred from timings."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from executor_harness import deployment
from pipeline_helpers import DAGS, wait_for

from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.runtime.outputs import Outputs
from trackflow.pipelines.service import PipelineService, ServiceOptions
from trackflow.tracking.client import Client


@pytest.fixture
def settings(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "fencing.py", dags / "fencing.py")
    monkeypatch.setenv("TF_TEST_OUT", str(home.parent / "out"))
    return Settings(home=str(home), dags_folder=str(dags), parallelism=4)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture(params=["local", "celery-redis"])
def executor(request: pytest.FixtureRequest) -> str:
    """Both executors pass the same tests: the local one, and Celery workers that reach the
    state only through the server's task API."""
    return str(request.param)


def start(settings: Settings, options: ServiceOptions, executor: str) -> Iterator[tuple[PipelineService, Pipelines]]:
    with deployment(settings, executor, options, dag_ids=("clear_while_running", "slow_callback")) as d:
        yield d.service, d.pipelines


# The task's own heartbeat is slow (30 s): that the first try stops at once proves the
# scheduler killed it through the executor, not that the try noticed by itself.
KILL_BY_SCHEDULER = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=30.0,
                                   heartbeat_timeout=120.0, queued_timeout=30.0)


@pytest.fixture
def fenced_service(settings: Settings, executor: str) -> Iterator[tuple[PipelineService, Pipelines]]:
    yield from start(settings, KILL_BY_SCHEDULER, executor)


def test_clearing_a_running_task_kills_and_fences_its_try(fenced_service: tuple[PipelineService, Pipelines],
                                                          home: Path) -> None:
    service, p = fenced_service
    out = home.parent / "out"
    dag_id = "clear_while_running"
    p.set_paused(dag_id, False)
    run = p.trigger(dag_id)
    service.wake()
    wait_for(lambda: "start 1" in lines(out / "fencing_body.txt"), "the first try to start")
    first = p.store.get_task_instance(dag_id, run.run_id, "body")
    assert first.state == "running" and first.try_number == 1

    assert p.clear(dag_id, run.run_id, ["body"]) == ["body"]
    service.wake()
    wait_for(lambda: p.store.get_dag_run(dag_id, run.run_id).state in ("success", "failed"), "the run to end")
    wait_for(lambda: not service.executor.running(), "the task processes to exit")

    assert p.store.get_dag_run(dag_id, run.run_id).state == "success"
    body = lines(out / "fencing_body.txt")
    # each try ran its body once; the first was told to stop (the scheduler killed it)
    assert body.count("start 1") == 1 and body.count("start 2") == 1 and "start 3" not in body
    assert any(line.startswith("stopped 1") for line in body)
    # the stale try's value was refused: downstream and the store see the second try's value only
    assert lines(out / "fencing_after.txt") == ["value of try 2"]
    assert Outputs.of_run(p.store, dag_id, run.run_id).get("body") == "value of try 2"
    tries = p.tries(dag_id, run.run_id, "body")
    assert [(t.try_number, t.state) for t in tries] == [(1, "failed"), (2, "success")]
    _, log = p.read_log(dag_id, run.run_id, "body", try_number=1)
    assert "refused" in log  # its value and its final record were refused by token
    # the fenced try's tracked run was ended by the clear, not left running nor marked finished
    tracked = Client(p.settings.resolved_tracking_uri, p.settings).get_run(first.tracking_run_id or "")
    assert tracked.info.status == "KILLED"


def test_marking_a_task_failed_fails_its_tracked_run(fenced_service: tuple[PipelineService, Pipelines],
                                                     home: Path) -> None:
    service, p = fenced_service
    out = home.parent / "out"
    dag_id = "clear_while_running"
    p.set_paused(dag_id, False)
    run = p.trigger(dag_id)
    service.wake()
    wait_for(lambda: "start 1" in lines(out / "fencing_body.txt"), "the first try to start")
    p.mark(dag_id, run.run_id, ["body"], "failed")
    service.wake()
    wait_for(lambda: p.store.get_dag_run(dag_id, run.run_id).state == "failed", "the run to fail")
    wait_for(lambda: not service.executor.running(), "the task process to exit")
    ti = p.store.get_task_instance(dag_id, run.run_id, "body")
    assert ti.state == "failed"
    assert lines(out / "fencing_after.txt") == []  # upstream_failed: never ran
    tracked = Client(p.settings.resolved_tracking_uri, p.settings).get_run(ti.tracking_run_id or "")
    assert tracked.info.status == "FAILED"
    assert tracked.data.tags["trackflow.task_state"] == "failed"


# A heartbeat timeout far shorter than the 10-s success callback.
SHORT_TIMEOUT = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=0.5,
                               heartbeat_timeout=2.0, queued_timeout=30.0)


@pytest.fixture
def short_timeout_service(settings: Settings, executor: str) -> Iterator[tuple[PipelineService, Pipelines]]:
    yield from start(settings, SHORT_TIMEOUT, executor)


def test_a_slow_callback_does_not_run_the_task_twice(short_timeout_service: tuple[PipelineService, Pipelines],
                                                     home: Path) -> None:
    service, p = short_timeout_service
    out = home.parent / "out"
    p.set_paused("slow_callback", False)
    run = p.trigger("slow_callback")
    service.wake()
    wait_for(lambda: p.store.get_dag_run("slow_callback", run.run_id).state in ("success", "failed"),
             "the run to end")
    assert p.store.get_dag_run("slow_callback", run.run_id).state == "success"
    assert lines(out / "slow_callback_body.txt") == ["run 1"]
    assert lines(out / "callback.txt") == ["callback start", "callback end"]
    ti = p.store.get_task_instance("slow_callback", run.run_id, "once")
    assert (ti.state, ti.try_number) == ("success", 1)
