"""Record what Airflow does with each DAG of tests/airflow_oracle/dags (copies of Airflow
3.3.2's own example DAGs, licence headers kept, and trackflow's own tf_*.py DAGs):
`airflow dags test <dag_id> 2025-01-01` in the pinned Airflow (benchmarks/.work/venv-airflow, or
$AIRFLOW_BIN), then the run's state, every task instance's state and each task's downstream task
ids as Airflow built the DAG, from Airflow's database (a fresh one per DAG), into expected.json
(`record.py DAG_ID ...`: only those, merged into the file; `--new`: the DAGs not in it yet).
`make airflow-oracle` runs it; the suite compares trackflow against the file, so it needs no
Airflow installed."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AIRFLOW = os.environ.get("AIRFLOW_BIN", str(ROOT / "benchmarks/.work/venv-airflow/bin/airflow"))
LOGICAL_DATE = "2025-01-01"


def main(only: list[str]) -> int:
    """Record every DAG of the folder, or only the dag ids given (merged into expected.json)."""
    home = Path(tempfile.mkdtemp(prefix="airflow-oracle-"))
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "dags"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__PLUGINS_FOLDER": str(HERE / "airflow_plugins")}
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([AIRFLOW, "dags", "reserialize"], env=env, check=True, capture_output=True)
    pristine = home / "pristine.db"  # each DAG starts from it: no asset events or runs left by another
    with sqlite3.connect(home / "airflow.db") as live, sqlite3.connect(pristine) as copy:
        live.backup(copy)  # consistent whatever the journal mode
    listed = subprocess.run([AIRFLOW, "dags", "list", "-o", "json"], env=env, check=True, capture_output=True,
                            text=True)
    listing = listed.stdout[listed.stdout.index("[{"):]  # after Airflow's own warnings
    dags = sorted((d["dag_id"], Path(d["fileloc"]).name) for d in json.loads(listing.splitlines()[0]))
    expected: dict[str, dict[str, object]] = json.loads((HERE / "expected.json").read_text()) if only else {}
    new = "--new" in only  # the dag ids not recorded yet
    for dag_id, fileloc in dags:
        if only and dag_id not in only and not (new and dag_id not in expected):
            continue
        for stale in home.glob("airflow.db*"):  # the database and its journal (-wal, -shm) of the last DAG
            stale.unlink()
        shutil.copy(pristine, home / "airflow.db")
        try:
            proc = subprocess.run([AIRFLOW, "dags", "test", dag_id, LOGICAL_DATE], env=env, capture_output=True,
                                  text=True, timeout=300)
        except subprocess.TimeoutExpired:  # e.g. waits for a person or an event: not an offline example
            print(f"{dag_id}: no end within 300 s, left out", file=sys.stderr)
            continue
        with sqlite3.connect(home / "airflow.db") as db:
            runs = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = ?", (dag_id,)).fetchall()
            query = "SELECT task_id, map_index, state FROM task_instance WHERE dag_id = ?"
            tis = db.execute(query, (dag_id,)).fetchall()
            serialized = db.execute("SELECT data, data_compressed FROM serialized_dag WHERE dag_id = ?",
                                    (dag_id,)).fetchone()
        expected[dag_id] = {
            "file": fileloc, "exit_code": proc.returncode,
            "state": runs[-1][1] if runs else None,
            "tasks": {f"{t}" if m < 0 else f"{t}[{m}]": s for t, m, s in sorted(tis, key=lambda r: r[:2])},
            "downstream": downstream_of(serialized),
        }
        print(f"{dag_id}: {expected[dag_id]['state']} ({len(tis)} task instances)", file=sys.stderr)
        (HERE / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")  # kept as it goes
    return 0


def downstream_of(serialized: tuple[str | None, bytes | None] | None) -> dict[str, list[str]]:
    """Each task's downstream task ids as Airflow built the DAG (from its serialized form)."""
    if serialized is None:
        return {}
    data = json.loads(serialized[0] if serialized[0] else zlib.decompress(serialized[1] or b""))
    return {t["__var"]["task_id"]: sorted(t["__var"].get("downstream_task_ids") or [])
            for t in data["dag"]["tasks"]}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
