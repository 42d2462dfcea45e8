"""The scheduler service with the local executor: schedules, pools, pause, clear/mark,
and recovery after the scheduler process is SIGKILLed (nothing lost, nothing run twice)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from pipeline_helpers import CLI, DAGS, wait_for

from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.service import PipelineService, ServiceOptions

FAST = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=0.5,
                      heartbeat_timeout=3.0, queued_timeout=5.0)
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("scheduled.py", "taskflow_etl.py", "slow_once.py", "broken_import.py"):
        shutil.copy(DAGS / name, dags / name)
    return dags


@pytest.fixture
def settings(home: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TF_TEST_OUT", str(home.parent / "out"))
    monkeypatch.setenv("TF_TEST_ENV", "service")
    return Settings(home=str(home), dags_folder=str(folder), parallelism=4)


@pytest.fixture
def service(settings: Settings) -> Iterator[PipelineService]:
    svc = PipelineService(settings, options=FAST)
    svc.start()
    yield svc
    svc.stop()


def run_state(p: Pipelines, dag_id: str, run_id: str) -> str:
    return p.store.get_dag_run(dag_id, run_id).state


def test_trigger_schedules_catchup_pools_and_import_errors(service: PipelineService, settings: Settings) -> None:
    p = Pipelines(settings)
    wait_for(lambda: any(d.dag_id == "taskflow_etl" for d in p.list_dags()), "the dags folder to be parsed")
    assert any(e.fileloc.endswith("broken_import.py") for e in p.import_errors())
    p.store.set_pool("tiny", 1)
    for dag_id in ("taskflow_etl", "pooled", "hourly_catchup", "every_10m"):
        p.set_paused(dag_id, False)
    run = p.trigger("taskflow_etl", conf={"multiplier": 3})
    pooled = p.trigger("pooled")
    service.wake()
    wait_for(lambda: run_state(p, "taskflow_etl", run.run_id) == "success", "the triggered run")
    wait_for(lambda: run_state(p, "pooled", pooled.run_id) == "success", "the pooled run")
    # catchup=True, hourly from 00:00 to 03:00 inclusive: four runs, all successful
    wait_for(lambda: len([r for r in p.list_runs("hourly_catchup") if r.state == "success"]) == 4, "catchup runs")
    hourly = sorted(r.logical_date.hour for r in p.list_runs("hourly_catchup"))
    assert hourly == [0, 1, 2, 3]
    # catchup=False: only the latest due run
    wait_for(lambda: p.list_runs("every_10m"), "the every_10m run")
    assert len(p.list_runs("every_10m")) == 1
    # a pool of one slot runs the four tasks one at a time, highest priority_weight first
    tis = sorted(p.run_detail("pooled", pooled.run_id).task_instances, key=lambda t: t.start_date)
    assert [t.task_id for t in tis] == ["p3", "p2", "p1", "p0"]
    for first, second in zip(tis, tis[1:], strict=False):
        assert first.end_date <= second.start_date
    detail = p.run_detail("taskflow_etl", run.run_id)
    assert {t.state for t in detail.task_instances} == {"success"}


def test_pause_clear_and_mark(service: PipelineService, settings: Settings) -> None:
    p = Pipelines(settings)
    wait_for(lambda: any(d.dag_id == "taskflow_etl" for d in p.list_dags()), "parsing")
    p.set_paused("taskflow_etl", True)
    run = p.trigger("taskflow_etl")
    service.wake()
    time.sleep(1.0)
    assert run_state(p, "taskflow_etl", run.run_id) == "queued"  # paused: triggered runs wait
    p.set_paused("taskflow_etl", False)
    wait_for(lambda: run_state(p, "taskflow_etl", run.run_id) == "success", "the run after unpause")
    before = {t.task_id: t.try_number for t in p.run_detail("taskflow_etl", run.run_id).task_instances}
    cleared_at = datetime.now(UTC)
    cleared = p.clear("taskflow_etl", run.run_id, ["transform"], include_downstream=True)
    assert set(cleared) == {"transform", "load", "load_again", "report"}
    service.wake()
    wait_for(lambda: run_state(p, "taskflow_etl", run.run_id) == "success", "the cleared run")
    after = {t.task_id: t.try_number for t in p.run_detail("taskflow_etl", run.run_id).task_instances}
    assert after["extract"] == before["extract"] and after["report"] == before["report"] + 1
    # re-run tasks show their new try's times, not the old ones
    rerun = [t for t in p.run_detail("taskflow_etl", run.run_id).task_instances if t.task_id in cleared]
    assert all(t.start_date is not None and t.start_date >= cleared_at for t in rerun)
    p.mark("taskflow_etl", run.run_id, ["report"], "failed")
    service.wake()
    wait_for(lambda: run_state(p, "taskflow_etl", run.run_id) == "failed", "the run to fail after marking")


SERVICE_SCRIPT = """
import sys, time
from trackflow.config import Settings
from trackflow.pipelines.service import PipelineService, ServiceOptions
settings = Settings(home=sys.argv[1], dags_folder=sys.argv[2], parallelism=4)
opts = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=0.5,
                      heartbeat_timeout=3.0, queued_timeout=5.0)
PipelineService(settings, options=opts).start()
print("started", flush=True)
while True:
    time.sleep(1)
"""


def start_service_process(settings: Settings, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", SERVICE_SCRIPT, settings.home, settings.dags_folder],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "TF_SLOW_SECONDS": "4"})


@pytest.mark.parametrize("kill_task_too", [False, True])
def test_scheduler_sigkill_and_restart(settings: Settings, home: Path, kill_task_too: bool) -> None:
    p = Pipelines(settings)
    p.sync_folder()
    p.set_paused("slow_once", False)
    first = start_service_process(settings, home)
    try:
        run = p.trigger("slow_once")
        ti = wait_for(lambda: next((t for t in p.run_detail("slow_once", run.run_id).task_instances
                                    if t.task_id == "slow" and t.state == "running"), None), "slow to run")
        first.send_signal(signal.SIGKILL)
        first.wait()
        if kill_task_too:
            os.kill(ti.pid, signal.SIGKILL)  # type: ignore[union-attr]
    finally:
        if first.poll() is None:
            first.kill()
    second = start_service_process(settings, home)
    try:
        wait_for(lambda: run_state(p, "slow_once", run.run_id) == "success", "the run after the restart")
    finally:
        second.kill()
        second.wait()
    tis = {t.task_id: t for t in p.run_detail("slow_once", run.run_id).task_instances}
    executions = (home.parent / "out" / "slow_runs.txt").read_text().split()
    if kill_task_too:
        assert tis["slow"].try_number == 2 and len(executions) == 2  # the dead try was retried once
        first_try = p.tries("slow_once", run.run_id, "slow")[0]
        assert first_try.state == "up_for_retry"
        run_of_try = p.tracking.client.get_run(first_try.tracking_run_id)
        assert run_of_try.info.status.value == "FAILED"
    else:
        assert tis["slow"].try_number == 1 and len(executions) == 1  # the orphan finished, never re-run
    assert tis["after"].state == "success"

    def triggerers() -> list[psutil.Process]:
        return [proc for proc in psutil.process_iter(["cmdline"])
                if "triggerer" in (proc.info["cmdline"] or []) and str(home) in " ".join(proc.info["cmdline"])]

    wait_for(lambda: not triggerers(), "the killed schedulers' triggerers to stop")


def test_backfill_hands_its_runs_to_the_running_scheduler(service: PipelineService, settings: Settings,
                                                          cli: CLI) -> None:
    """With a scheduler on the database, `dags backfill` only creates runs and follows them:
    the scheduler that owns the database executes them (one loop per database, by lease)."""
    p = Pipelines(settings)
    wait_for(lambda: any(d.dag_id == "every_10m" for d in p.list_dags()), "parsing")
    # catchup=False: the scheduler itself makes only the latest run, so these dates are free
    proc = cli("dags", "backfill", "every_10m", "-s", "2025-01-01", "-e", "2025-01-01T00:10")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "executes them" in proc.stdout and "2 succeeded, 0 failed" in proc.stdout
    assert service.lease.held
