"""Sensors and deferral on the one state machine: poke, reschedule (same try, slot given back)
and deferral (the triggerer runs the trigger; the task resumes in the same try with the event),
timeouts, failing triggers, leases of several triggerers, and a run waiting on 100 deferred
sensors that holds no worker process — on the local executor and on Celery workers."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import CLI, DAGS, wait_for

from trackflow.config import Settings
from trackflow.entities.pipelines import DagRun
from trackflow.pipelines import state
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.state import RunState, TIState
from trackflow.pipelines.triggers import serde
from trackflow.store.pipeline_base import Deferral, NewTaskInstance
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.trigger_store import SqlTriggerStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


# Decisions (pure) -------------------------------------------------------------------------------
def test_a_rescheduled_sensor_waits_for_its_next_poke_and_a_deferred_task_keeps_the_run_open() -> None:
    from trackflow.pipelines.spec import DagSpec, TaskSpec

    spec = DagSpec(dag_id="d", fileloc="f", tasks=(TaskSpec("s", "PythonSensor"), TaskSpec("t", "X")))
    later = NOW + timedelta(seconds=30)
    views = {("s", -1): decisions.TIView("s", state=TIState.UP_FOR_RESCHEDULE, try_number=1, next_retry_at=later),
             ("t", -1): decisions.TIView("t", state=TIState.DEFERRED, try_number=1)}
    waiting = decisions.decide_run(spec, views, NOW)
    assert waiting.to_schedule == [] and waiting.run_state is None  # not a deadlock
    due = decisions.decide_run(spec, views, later)
    assert due.to_schedule == [("s", -1)]


# The store: deferral and reschedule keep the try ----------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    uri = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    database = Database(uri)
    database.upgrade()
    yield database
    database.dispose()


def started(store: SqlPipelineStore, run: DagRun) -> str:
    [queued] = state.queue(store, run.dag_id, run.run_id, [("s", -1)], NOW)
    assert queued.token
    assert state.start_try(store, run.dag_id, run.run_id, ("s", -1), queued.token, NOW, "h", 1, "", "tr1")
    return queued.token


def new_run(store: SqlPipelineStore) -> DagRun:
    run = DagRun(f"d_{uuid.uuid4().hex[:8]}", "r1", RunState.RUNNING, "manual", NOW, NOW, NOW, NOW)
    return store.create_dag_run(run, [NewTaskInstance("s", max_tries=2)])


def test_a_deferred_try_resumes_once_with_the_event_in_the_same_try(db: Database) -> None:
    store, triggers = SqlPipelineStore(db), SqlTriggerStore(db)
    run = new_run(store)
    token = started(store, run)
    from trackflow.entities.pipelines import TaskOutput

    assert state.put_output(store, TaskOutput(run.dag_id, run.run_id, "s", -1, "before", "json", b"1", None, 1,
                                              None), token, NOW)
    deferral = Deferral("pkg.Trigger", serde.dumps({"at": NOW}), "resume", serde.dumps({"base": 40}),
                        NOW + timedelta(hours=1))
    assert state.finish_try(store, run.dag_id, run.run_id, ("s", -1), token, TIState.DEFERRED, NOW,
                            deferral=deferral)
    ti = store.get_task_instance(run.dag_id, run.run_id, "s")
    assert (ti.state, ti.token, ti.next_method, ti.trigger_timeout) == (TIState.DEFERRED, None, "resume",
                                                                        NOW + timedelta(hours=1))
    # two triggerers: the first takes it, the second finds nothing free until the lease runs out
    [held] = triggers.claim("a", NOW, 30, 10)
    assert serde.loads(held.kwargs) == {"at": NOW}
    assert triggers.claim("b", NOW, 30, 10) == []
    assert [r.id for r in triggers.claim("b", NOW + timedelta(seconds=31), 30, 10)] == [held.id]
    moved = state.trigger_fired(triggers, held.id, serde.dumps({"rows": 3}), NOW)
    assert [t.task_id for t in moved] == ["s"]
    assert state.trigger_fired(triggers, held.id, serde.dumps({"rows": 4}), NOW) == []  # once
    ti = store.get_task_instance(run.dag_id, run.run_id, "s")
    assert ti.state == TIState.SCHEDULED and ti.trigger_id is None
    assert serde.loads(ti.next_kwargs) == {"base": 40, "event": {"rows": 3}}
    [again] = state.queue(store, run.dag_id, run.run_id, [("s", -1)], NOW)
    assert again.try_number == 1 and again.resumes  # the same try goes on
    assert again.token
    resumed = state.start_try(store, run.dag_id, run.run_id, ("s", -1), again.token, NOW, "h", 2, "", "tr1")
    assert resumed is not None and resumed.next_method == "resume"
    assert [o.key for o in store.get_outputs(run.dag_id, run.run_id, "s", "before")] == ["before"]  # kept
    assert len(store.list_tries(run.dag_id, run.run_id, "s")) == 1
    assert state.finish_try(store, run.dag_id, run.run_id, ("s", -1), again.token, TIState.SUCCESS, NOW)
    done = store.get_task_instance(run.dag_id, run.run_id, "s")
    assert (done.state, done.next_method, done.next_kwargs) == (TIState.SUCCESS, None, None)
    assert triggers.count() == 0


def test_reschedules_keep_the_try_and_its_first_poke_and_clear_drops_a_trigger(db: Database) -> None:
    store, triggers = SqlPipelineStore(db), SqlTriggerStore(db)
    run = new_run(store)
    first = NOW
    token = started(store, run)
    assert state.finish_try(store, run.dag_id, run.run_id, ("s", -1), token, TIState.UP_FOR_RESCHEDULE, NOW,
                            next_retry_at=NOW + timedelta(seconds=5))
    for _ in range(3):
        [queued] = state.queue(store, run.dag_id, run.run_id, [("s", -1)], NOW + timedelta(seconds=5))
        assert queued.try_number == 1 and queued.reschedule_start == first
        assert queued.token
        state.start_try(store, run.dag_id, run.run_id, ("s", -1), queued.token, NOW + timedelta(seconds=5), "h", 1,
                        "", None)
        assert state.finish_try(store, run.dag_id, run.run_id, ("s", -1), queued.token, TIState.UP_FOR_RESCHEDULE,
                                NOW, next_retry_at=NOW)
    # a deferral, then a clear: the task instance forgets it and the triggerer drops the trigger
    [queued] = state.queue(store, run.dag_id, run.run_id, [("s", -1)], NOW)
    assert queued.token
    state.start_try(store, run.dag_id, run.run_id, ("s", -1), queued.token, NOW, "h", 1, "", None)
    state.finish_try(store, run.dag_id, run.run_id, ("s", -1), queued.token, TIState.DEFERRED, NOW,
                     deferral=Deferral("pkg.T", "{}", "resume", "{}"))
    state.clear(store, run.dag_id, run.run_id, ["s"], {}, NOW)
    ti = store.get_task_instance(run.dag_id, run.run_id, "s")
    assert (ti.state, ti.trigger_id, ti.next_method, ti.reschedule_start) == (None, None, None, None)
    assert triggers.remove_orphans() == 1 and triggers.count() == 0
    [fresh] = state.queue(store, run.dag_id, run.run_id, [("s", -1)], NOW)
    assert fresh.try_number == 2  # after a clear, a new try


def test_the_state_machine_refuses_a_deferral_without_a_trigger(db: Database) -> None:
    store = SqlPipelineStore(db)
    run = new_run(store)
    token = started(store, run)
    from trackflow.errors import InvalidInput

    with pytest.raises(InvalidInput):
        state.finish_try(store, run.dag_id, run.run_id, ("s", -1), token, TIState.DEFERRED, NOW)


# dags test: every way to wait, end to end -----------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> Path:
    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("sensors.py", "sensor_triggers.py", "external.py"):
        shutil.copy(DAGS / name, dags / name)
    return dags


def task_rows(home: Path, dag_id: str) -> dict[str, tuple[str, int, str | None]]:
    import sqlite3

    with sqlite3.connect(home / "trackflow.db") as conn:
        run_id = conn.execute("SELECT run_id FROM pl_dag_runs WHERE dag_id = ? ORDER BY id DESC", (dag_id,)).fetchone()
        rows = conn.execute("SELECT task_id, state, try_number, note FROM pl_task_instances WHERE dag_id = ? AND "
                            "run_id = ?", (dag_id, run_id[0])).fetchall()
    return {t: (s, n, note) for t, s, n, note in rows}


def outputs(home: Path, dag_id: str, task_id: str) -> dict[str, object]:
    import sqlite3

    with sqlite3.connect(home / "trackflow.db") as conn:
        rows = conn.execute("SELECT key, data FROM pl_task_outputs WHERE dag_id = ? AND task_id = ?",
                            (dag_id, task_id)).fetchall()
    return {k: json.loads(v) for k, v in rows}


def test_every_way_to_wait_ends_as_in_airflow(cli: CLI, home: Path, folder: Path) -> None:
    proc = cli("dags", "test", "sensors", "--dags-folder", str(folder / "sensors.py"))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # hard_timeout, broken_trigger, deferral_timeout fail
    rows = task_rows(home, "sensors")
    states = {t: s for t, (s, _, _) in rows.items()}
    assert states == {
        "poke_mode": "success", "reschedule_mode": "success", "deferred_sensor": "success",
        "custom_trigger": "success", "value_sensor": "success", "use": "success", "soft_timeout": "skipped",
        "hard_timeout": "failed", "drop_file": "success", "file_deferred": "success", "broken_trigger": "failed",
        "deferral_timeout": "failed",
    }
    # pokes, reschedules and deferrals never use up a try; a sensor timeout fails without retrying
    assert {t: n for t, (_, n, _) in rows.items()} == dict.fromkeys(rows, 1)
    out = home.parent / "out"
    assert (out / "poke_mode.pokes").read_text() == "3" and (out / "reschedule_mode.pokes").read_text() == "3"
    assert "AirflowSensorTimeout" in (rows["hard_timeout"][2] or "")
    assert "TaskDeferralError" in (rows["broken_trigger"][2] or "")
    assert "the service behind this trigger is down" in (rows["broken_trigger"][2] or "")
    assert "TaskDeferralTimeout" in (rows["deferral_timeout"][2] or "")
    assert outputs(home, "sensors", "use") == {"return_value": 6}  # PokeReturnValue's xcom_value flowed on
    # the custom trigger's event reached the resumed method, values pushed before deferring stayed
    assert outputs(home, "sensors", "custom_trigger") == {
        "before": "pushed before deferring",
        "return_value": {"total": 42, "event": {"waited": 0.5, "tag": "t1"}, "try": 1}}
    log = cli("dags", "logs", "sensors", task_rows_run_id(home, "sensors"), "custom_trigger")
    assert "Deferring: waiting on sensor_triggers.CountdownTrigger" in log.stdout
    assert log.stdout.count("Starting sensors.custom_trigger") == 2  # one try, two processes, one log


def task_rows_run_id(home: Path, dag_id: str) -> str:
    import sqlite3

    with sqlite3.connect(home / "trackflow.db") as conn:
        return str(conn.execute("SELECT run_id FROM pl_dag_runs WHERE dag_id = ? ORDER BY id DESC",
                                (dag_id,)).fetchone()[0])


def test_external_task_sensor_waits_for_another_dag_at_the_same_logical_date(cli: CLI, home: Path,
                                                                            folder: Path) -> None:
    day = "2025-03-01T00:00:00+00:00"
    dags = str(folder / "external.py")
    # nothing upstream yet: the task sensor times out (failed), the run sensor is soft (skipped)
    assert cli("dags", "test", "downstream_daily", "--logical-date", day, "--dags-folder", dags).returncode == 1
    assert {t: s for t, (s, _, _) in task_rows(home, "downstream_daily").items()} == {
        "wait_load": "failed", "wait_run": "skipped", "wait_group": "failed", "report": "upstream_failed"}
    # upstream fails on that date: failed_states fail the sensor at once (soft_fail: skipped)
    assert cli("dags", "test", "upstream_daily", "--logical-date", day, "--dags-folder", dags,
               env={"TF_UPSTREAM_FAILS": "1"}).returncode == 1
    assert cli("dags", "test", "downstream_daily", "--logical-date", day, "--dags-folder", dags,
               env={"TF_SOFT": "1"}).returncode == 0
    assert task_rows(home, "downstream_daily")["wait_load"][0] == "skipped"
    assert task_rows(home, "downstream_daily")["wait_group"][0] == "skipped"  # the group's tasks upstream_failed
    # upstream succeeds on that date (a later run of the same date): the sensors pass
    assert cli("dags", "test", "upstream_daily", "--logical-date", day, "--dags-folder", dags).returncode == 0
    assert task_rows(home, "upstream_daily")["marker"][0] == "success"
    proc = cli("dags", "test", "downstream_daily", "--logical-date", day, "--dags-folder", dags)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {s for s, _, _ in task_rows(home, "downstream_daily").values()} == {"success"}


# A scheduler deployment: 100 deferred sensors hold no process -------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "celery-redis"])
def test_a_run_waiting_on_100_deferred_sensors_holds_no_worker(executor: str, tmp_path: Path, folder: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = datetime.now(UTC) + timedelta(seconds=30)
    monkeypatch.setenv("TF_DEFER_TARGET", target.isoformat())  # one moment for the parse and the tasks
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder), parallelism=4)
    with deployment(settings, executor, FAST, dag_ids=("many_deferred",)) as d:
        p = d.pipelines
        run = p.trigger("many_deferred", run_id="wait100")
        d.service.wake()

        def deferred() -> int:
            return sum(t.state == TIState.DEFERRED for t in p.run_detail("many_deferred", run.run_id).task_instances)

        wait_for(lambda: deferred() == 100, "100 sensors to defer", limit=120)
        # the executor lets go of a try once its process has ended after deferring (the last
        # one's state is written a moment before its Celery task reports done)
        left = (target - datetime.now(UTC)).total_seconds()
        wait_for(lambda: not d.service.executor.running(), "the executor to hold no deferred try", limit=max(left, 0.1))
        assert datetime.now(UTC) < target  # the check above held while they all still waited
        assert SqlTriggerStore(p.store.db).count() == 100
        assert d.run_to_end("many_deferred", run.run_id, limit=180) == "success"
        tis = p.run_detail("many_deferred", run.run_id).task_instances
        assert {(t.state, t.try_number) for t in tis} == {("success", 1)}
        assert min(t.end_date for t in tis if t.end_date) >= target
        assert SqlTriggerStore(p.store.db).count() == 0


def test_the_server_restarts_its_triggerer(tmp_path: Path, folder: Path) -> None:
    from trackflow.pipelines.service import PipelineService

    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    service = PipelineService(settings, options=FAST)
    service.start()
    try:
        # idle, nothing deferred and no asset watcher: no triggerer process (memory kept for work)
        wait_for(lambda: "many_deferred" in {d.dag_id for d in service.pipelines.list_dags()}, "parsing")
        for _ in range(5):
            service.wake()
            time.sleep(0.2)
        assert service.triggerer.proc is None
        service.pipelines.trigger("many_deferred")  # its sensors defer: the triggerer starts
        first = wait_for(lambda: service.triggerer.proc, "the triggerer process")
        assert isinstance(first, subprocess.Popen) and first.poll() is None
        first.kill()
        wait_for(lambda: service.triggerer.proc is not first and service.triggerer.proc is not None
                 and service.triggerer.proc.poll() is None, "a new triggerer", limit=30)
    finally:
        service.stop()
    assert first.poll() is not None
