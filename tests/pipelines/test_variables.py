"""Variables (Airflow's): set from the CLI and the REST API, read by tasks (Variable.get and
{{ var.value }} / {{ var.json }}), written by a task, encrypted at rest, and a secret one
masked in the task's log."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import requests

from servers import ThreadServer
from trackflow.config import Settings
from trackflow.server.app import create_app

DAGS = Path(__file__).resolve().parents[1] / "dags"
SECRET = "s3cr3t-hunter2"


def test_tasks_read_and_write_variables_encrypted_and_masked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")}, "TRACKFLOW_HOME": str(home)}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackflow", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    assert cli("variables", "set", "db_password", SECRET, "--description", "the warehouse").returncode == 0
    assert cli("variables", "set", "limits", json.dumps({"rows": 7})).returncode == 0
    assert cli("variables", "set", "greeting", "hello").returncode == 0
    proc = cli("dags", "test", "uses_variables", "--dags-folder", str(DAGS / "variables.py"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_id = re.search(r"DAG run (\S+) of", proc.stdout)[1]  # type: ignore[index]
    assert "hello 7" in cli("dags", "logs", "uses_variables", run_id, "greet").stdout  # the templated command
    log = cli("dags", "logs", "uses_variables", run_id, "connect").stdout
    assert "connecting with password ***" in log and SECRET not in log  # masked in the log
    assert json.loads(cli("variables", "get", "last_connect").stdout) == {"rows": 7}  # the task wrote it
    listed = json.loads(cli("variables", "list", "--output", "json").stdout)
    assert [v["key"] for v in listed] == ["db_password", "greeting", "last_connect", "limits"]
    assert listed[0]["description"] == "the warehouse" and SECRET not in json.dumps(listed)
    with sqlite3.connect(home / "trackflow.db") as db:  # encrypted at rest
        stored = dict(db.execute("SELECT key, val FROM pl_variables").fetchall())
    assert SECRET not in stored["db_password"] and stored["greeting"] != "hello"
    assert (home / "fernet.key").stat().st_mode & 0o077 == 0  # the generated key is the owner's only
    missing = cli("variables", "get", "nope")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert cli("variables", "delete", "greeting").returncode == 0
    assert cli("variables", "delete", "greeting").returncode == 2

    # the REST API, and a server's clients (the CLI through its URL)
    app = create_app(Settings(home=str(home)))
    with ThreadServer(app) as server:
        api = f"{server.url}/api/v1/variables"
        assert requests.put(f"{api}/region", json={"value": "eu"}, timeout=30).json() == {"key": "region",
                                                                                       "value": "eu"}
        assert requests.get(f"{api}/region", timeout=30).json()["value"] == "eu"
        assert requests.get(f"{api}/nope", timeout=30).status_code == 404
        assert requests.put(f"{api}/{'k' * 251}", json={"value": "x"}, timeout=30).status_code == 400
        assert requests.put(f"{api}/k", json={"value": 1}, timeout=30).status_code == 400
        assert "region" in [v["key"] for v in requests.get(api, timeout=30).json()["variables"]]
        remote = subprocess.run([sys.executable, "-m", "trackflow", "variables", "get", "region"], capture_output=True,
                                text=True, env={**env, "TRACKFLOW_TRACKING_URI": server.url}, timeout=60)
        assert remote.stdout.strip() == "eu", remote.stderr
        assert requests.delete(f"{api}/region", timeout=30).status_code == 200
        assert requests.delete(f"{api}/region", timeout=30).status_code == 404
    app.state.services.db.dispose()
