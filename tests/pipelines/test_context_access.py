"""A task's context as Airflow 3 offers it: inlet events by position, by alias and through
for_asset()/for_asset_alias() (in Jinja templates too), an ``async def`` task awaiting the asset
state store, and ``context["task"].render_template``."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from pathlib import Path

from pipeline_helpers import CLI, DAGS


def test_inlets_async_tasks_and_render_template(cli: CLI, home: Path, tmp_path: Path) -> None:
    shutil.copy(DAGS / "context_access.py", tmp_path / "context_access.py")
    proc = cli("dags", "test", "context_access", "--logical-date", "2025-02-03",
               "--dags-folder", str(tmp_path / "context_access.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(home / "trackflow.db") as conn:
        rows = conn.execute("SELECT task_id, serializer, data FROM pl_task_outputs WHERE dag_id = 'context_access' "
                            "AND key = 'return_value'").fetchall()
    values = {t: pickle.loads(d) if s == "pickle" else json.loads(d) for t, s, d in rows}  # tuples are pickled
    assert values["consume"] == {"lake": {"rows": 1}, "via": [("lake2", {"k": 2})]}
    assert values["remember"] == [1, 2]
    assert values["render"] == ["from-params", {"d": "2025-02-03"}, ("x", 1)]
    assert values["template"] == '{"rows": 1}'


def test_a_run_before_the_start_date_has_no_task_instances(cli: CLI, home: Path, tmp_path: Path) -> None:
    """As Airflow: the run is made and succeeds at once, with nothing to run."""
    shutil.copy(DAGS / "context_access.py", tmp_path / "context_access.py")
    proc = cli("dags", "test", "context_access", "--logical-date", "2024-12-31",
               "--dags-folder", str(tmp_path / "context_access.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(home / "trackflow.db") as conn:
        assert conn.execute("SELECT state FROM pl_dag_runs WHERE dag_id = 'context_access'").fetchall() == [
            ("success",)]
        assert conn.execute("SELECT count(*) FROM pl_task_instances").fetchone() == (0,)
