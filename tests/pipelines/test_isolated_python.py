"""Callables in another interpreter (Airflow's virtualenv and external-python operators and
decorators): arguments, context entries and the return value cross over, requirements are
installed in a real virtualenv (cached by their hash), a chosen exit code skips, an error
fails with the callable's traceback, and the branch variants skip what they do not follow."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import CLI, DAGS

from trackflow.errors import InvalidInput
from trackflow.operators import ExternalPythonOperator, PythonVirtualenvOperator


def run_of(home: Path) -> tuple[dict[str, tuple[str, str | None]], dict[str, Any]]:
    with sqlite3.connect(home / "trackflow.db") as conn:
        [run_id] = conn.execute("SELECT run_id FROM pl_dag_runs ORDER BY id DESC").fetchone()
        states = {t: (s, n) for t, s, n in conn.execute(
            "SELECT task_id, state, note FROM pl_task_instances WHERE run_id = ?", (run_id,))}
        outputs = {t: (pickle.loads(d) if ser == "pickle" else __import__("json").loads(d))
                   for t, ser, d in conn.execute("SELECT task_id, serializer, data FROM pl_task_outputs "
                                                 "WHERE run_id = ? AND key = 'return_value'", (run_id,))}
    return states, outputs


@pytest.mark.slow
def test_callables_run_in_virtualenvs_and_other_pythons(cli: CLI, home: Path, tmp_path: Path) -> None:
    shutil.copy(DAGS / "isolated_python.py", tmp_path / "isolated_python.py")
    cache = tmp_path / "venvs"
    args = ("dags", "test", "isolated_python", "--logical-date", "2025-02-01",
            "--dags-folder", str(tmp_path / "isolated_python.py"))
    proc = cli(*args, env={"TF_VENV_CACHE": str(cache)}, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # "fails" fails
    states, outputs = run_of(home)
    assert {t: s for t, (s, _) in states.items()} == {
        "first_six": "success", "with_six": "success", "cloudpickled": "success", "external": "success",
        "skips": "skipped", "fails": "failed", "pick_b1": "success", "b1": "success", "b2": "skipped",
        "pick_c2": "success", "c1": "skipped", "c2": "success", "reads_string_args": "success"}
    assert outputs["with_six"] == "1.16.0:1.16.0:a"
    assert outputs["external"]["value"] == {"rows": 42, "ds": "2025-02-01", "p": "hello", "isolated": True}
    assert outputs["external"]["python"] == sys.executable and outputs["external"]["run_id"].startswith("manual__")
    assert outputs["reads_string_args"] == ["alpha", "beta"]
    assert "ValueError: broken inside" in (states["fails"][1] or "")
    made = sorted(p.name for p in cache.iterdir() if p.is_dir())
    assert len(made) == 3  # six; nothing; cloudpickle — each made once, whichever task came first
    again = cli(*args, env={"TF_VENV_CACHE": str(cache)}, timeout=600)
    assert again.returncode == 1
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == made
    logs = "".join(p.read_text() for p in (home / "logs").rglob("attempt=1.log"))
    assert "Reusing the cached virtualenv" in logs


def plain(x: int) -> int:
    return x


def test_inputs_are_checked(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="functions defined with def"):
        PythonVirtualenvOperator(task_id="t", python_callable=lambda: 1)

    def gen() -> Any:
        yield 1

    with pytest.raises(InvalidInput, match="yield"):
        PythonVirtualenvOperator(task_id="t", python_callable=gen)
    with pytest.raises(InvalidInput, match="unsupported serializer"):
        PythonVirtualenvOperator(task_id="t", python_callable=plain, serializer="json")
    with pytest.raises(InvalidInput, match="no python2.6"):
        PythonVirtualenvOperator(task_id="t", python_callable=plain, python_version="2.6")
    with pytest.raises(InvalidInput, match="needs python="):
        ExternalPythonOperator(task_id="t", python="", python_callable=plain)
