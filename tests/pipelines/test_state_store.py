"""Airflow 3's task and asset state stores: a task instance's keys outlive its failed tries
(a retry reattaches instead of submitting twice), each map index has its own, keys expire,
an asset's keys are shared by the runs that use it, and a fenced try writes nothing — in the
store (SQLite, PostgreSQL), in `dags test`, and from a Celery worker over the task API."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import CLI, DAGS

from trackflow.config import Settings
from trackflow.entities.pipelines import DagRun
from trackflow.pipelines import state
from trackflow.pipelines.state import RunState
from trackflow.store.pipeline_base import NewTaskInstance
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.state_store import SqlStateStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    uri = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    database = Database(uri)
    database.upgrade()
    yield database
    database.dispose()


def test_only_the_running_try_writes_and_keys_outlive_it(db: Database) -> None:
    store, states = SqlPipelineStore(db), SqlStateStore(db)
    run = store.create_dag_run(DagRun(f"d_{uuid.uuid4().hex[:8]}", "r", RunState.RUNNING, "manual", NOW, NOW, NOW,
                                      NOW), [NewTaskInstance("t", max_tries=1)])
    key = ("t", -1)
    [queued] = state.queue(store, run.dag_id, run.run_id, [key], NOW)
    token = queued.token or ""
    assert not states.set_task_state(run.dag_id, run.run_id, key, token, "k", '"early"', None, NOW)  # not running
    state.start_try(store, run.dag_id, run.run_id, key, token, NOW, "h", 1, "", None)
    assert states.set_task_state(run.dag_id, run.run_id, key, token, "job", '"j-1"', None, NOW)
    assert states.set_task_state(run.dag_id, run.run_id, key, token, "soon", "1", NOW + timedelta(seconds=5), NOW)
    assert states.set_asset_state(run.dag_id, run.run_id, key, token, "lake", "mark", "10", NOW)
    state.clear(store, run.dag_id, run.run_id, ["t"], {}, NOW)  # fenced: the old token writes nothing
    assert not states.set_task_state(run.dag_id, run.run_id, key, token, "job", '"j-2"', None, NOW)
    assert not states.delete_task_state(run.dag_id, run.run_id, key, token, None)
    assert states.get_task_state(run.dag_id, run.run_id, key, "job", NOW) == '"j-1"'  # kept for the next try
    assert states.get_task_state(run.dag_id, run.run_id, key, "soon", NOW + timedelta(seconds=6)) is None
    assert states.purge_expired(NOW + timedelta(seconds=6)) == 1
    assert states.get_asset_state("lake", "mark") == "10"
    assert states.get_task_state(run.dag_id, run.run_id, ("t", 0), "job", NOW) is None  # another map index


def submits(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "submits.jsonl").read_text().splitlines()]


def test_a_retry_reattaches_and_map_indexes_and_assets_keep_their_own(cli: CLI, home: Path) -> None:
    proc = cli("dags", "test", "state_store", "--dags-folder", str(DAGS / "state_store.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert submits(home.parent / "out") == [{"try": 1, "found": None}, {"try": 2, "found": "job-1"}]
    proc = cli("dags", "test", "state_store", "--dags-folder", str(DAGS / "state_store.py"))
    assert proc.returncode == 0
    # a new run: a new task instance starts empty; the asset's watermark carried on
    assert submits(home.parent / "out")[2] == {"try": 1, "found": None}
    db = Database(f"sqlite:///{home / 'trackflow.db'}")
    assert SqlStateStore(db).get_asset_state("lake_table", "watermark") == "20"
    db.dispose()


def test_the_state_store_over_the_task_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "state_store.py", folder)
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    with deployment(settings, "celery-redis", FAST, dag_ids=("state_store",)) as d:
        d.pipelines.trigger("state_store", run_id="s1")
        assert d.run_to_end("state_store", "s1") == "success"
        assert submits(tmp_path) == [{"try": 1, "found": None}, {"try": 2, "found": "job-1"}]
        tis = {t.task_id: t.try_number for t in d.pipelines.run_detail("state_store", "s1").task_instances}
        assert tis["submit_once"] == 2
