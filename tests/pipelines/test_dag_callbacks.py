"""DAG-level on_success/on_failure callbacks and dagrun_timeout, as Airflow 3: a callback runs
once per finished run, in a process of its own, with the run and a reason ("success",
"task_failure", "timed_out"); a run past its dagrun_timeout fails and its unfinished task
instances are skipped (the running one is stopped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import DAGS, wait_for

from trackflow.config import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "dags").mkdir()
    (tmp_path / "out").mkdir()
    shutil.copy(DAGS / "run_level.py", tmp_path / "dags" / "run_level.py")
    monkeypatch.setenv("TF_TEST_OUT", str(tmp_path / "out"))
    return Settings(home=str(tmp_path / "home"), dags_folder=str(tmp_path / "dags"))


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_dag_callbacks_and_dagrun_timeout(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "out" / "dag_callbacks.txt"
    with deployment(settings, "local", FAST, dag_ids=("callbacks_ok", "callbacks_fail", "times_out")) as d:
        for dag_id in ("callbacks_ok", "callbacks_fail", "times_out"):
            d.pipelines.trigger(dag_id, run_id="r")
        assert d.run_to_end("callbacks_ok", "r") == "success"
        assert d.run_to_end("callbacks_fail", "r") == "failed"
        assert d.run_to_end("times_out", "r") == "failed"
        wait_for(lambda: len(lines(out)) == 3, "three DAG callbacks")
        tis = {t.task_id: t.state for t in d.pipelines.run_detail("times_out", "r").task_instances}
    assert sorted(lines(out)) == ["callbacks_fail r failed task_failure", "callbacks_ok r success success",
                                  "times_out r failed timed_out"]
    assert tis == {"slow": "skipped", "after": "skipped"}  # as Airflow: unfinished ones skipped
