"""TriggerDagRunOperator under the scheduler: a task starts a run of another DAG with conf and
waits for it (polling, or deferred to a DagStateTrigger); an existing run fails the task,
skips it, or is cleared to run again — on the local executor and on a Celery worker (through
the task API)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import CLI, DAGS

from trackflow.config import Settings


@pytest.mark.parametrize("executor", ["local", "celery-redis"])
def test_a_task_triggers_another_dag_and_waits_for_it(executor: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "trigger_dagrun.py", folder)
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    with deployment(settings, executor, FAST, dag_ids=("controller", "target_dag")) as d:
        p = d.pipelines
        d.pipelines.trigger("controller", run_id="c1")
        assert d.run_to_end("controller", "c1") == "failed"
        states = {t.task_id: t.state for t in p.run_detail("controller", "c1").task_instances}
        assert states == {"trigger_and_wait": "success", "trigger_and_defer": "failed",
                          "same_run_again": "failed", "same_run_skipped": "skipped", "same_run_reset": "success"}
        notes = {t.task_id: t.note or "" for t in p.run_detail("controller", "c1").task_instances}
        assert "exists" in notes["same_run_again"] and "ended failed" in notes["trigger_and_defer"]
        assert p.store.get_dag_run("target_dag", "from_controller_c1").state == "success"
        assert p.store.get_dag_run("target_dag", "deferred_c1").state == "failed"
        records = [json.loads(line) for line in (tmp_path / "target.jsonl").read_text().splitlines()]
        # the reset ran the same run again (cleared): its task recorded twice
        assert records.count({"run_id": "from_controller_c1", "conf": {"message": "c1"}}) == 2
        outputs = p.store.get_outputs("controller", "c1", "trigger_and_wait", "trigger_run_id")
        assert [json.loads(o.data or b"null") for o in outputs] == ["from_controller_c1"]


def test_dags_test_of_one_file_finds_the_target_in_its_folder(cli: CLI, home: Path, tmp_path: Path) -> None:
    """As Airflow's `dags test`: the DAG to trigger is looked up in the DAGs folder (here the
    tested file's folder), and its run is made (not run: only the tested run runs)."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "target.py").write_text(
        "from datetime import datetime\nfrom trackflow import dag, task\n\n"
        "@dag(schedule=None, start_date=datetime(2025, 1, 1))\ndef far_target():\n"
        "    task(lambda: 1, task_id='t')()\n\nfar_target()\n")
    (folder / "controller.py").write_text(
        "from datetime import datetime\nfrom trackflow import dag\n"
        "from trackflow.operators import TriggerDagRunOperator\n\n"
        "@dag(schedule=None, start_date=datetime(2025, 1, 1))\ndef far_controller():\n"
        "    TriggerDagRunOperator(task_id='go', trigger_dag_id='far_target', trigger_run_id='from_controller')\n\n"
        "far_controller()\n")
    proc = cli("dags", "test", "far_controller", "--dags-folder", str(folder / "controller.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(home / "trackflow.db") as conn:
        assert conn.execute("SELECT run_id, state FROM pl_dag_runs WHERE dag_id = 'far_target'").fetchall() == [
            ("from_controller", "queued")]
