"""One artifact root per deployment: the server records its artifacts destination in the
database, and every process that opens the database without being told one stores and finds
artifacts there (the CLI, ``models serve``, ``dags test``, notebooks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from trackflow.config import Settings
from trackflow.store.sql import Database
from trackflow.store.sql.deployment import ARTIFACTS_DESTINATION, recorded_setting
from trackflow.tracking.backend import deployment_settings
from trackflow.tracking.client import Client


def test_first_opener_records_and_later_ones_follow(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    db.upgrade()
    first = deployment_settings(db, Settings(home=str(tmp_path / "a")))
    assert first.artifacts_destination == str(tmp_path / "a" / "artifacts")
    other_home = deployment_settings(db, Settings(home=str(tmp_path / "b")))
    assert other_home.artifacts_destination == first.artifacts_destination
    mine = deployment_settings(db, Settings(home=str(tmp_path / "b"), artifacts_destination="/elsewhere"))
    assert mine.artifacts_destination == "/elsewhere"  # explicit wins for that client only...
    assert recorded_setting(db, ARTIFACTS_DESTINATION) == first.artifacts_destination  # ...not for the others
    server = deployment_settings(db, Settings(artifacts_destination="s3://bucket/root"), authority=True)
    assert server.artifacts_destination == "s3://bucket/root"
    assert recorded_setting(db, ARTIFACTS_DESTINATION) == "s3://bucket/root"  # a server's explicit one is recorded
    db.dispose()


def test_cli_with_only_the_database_uri_finds_the_servers_artifacts(
    tmp_path: Path, trackflow_server: Any
) -> None:
    db_uri = f"sqlite:///{tmp_path / 'deploy.db'}"
    store = str(tmp_path / "store")
    with trackflow_server(tmp_path / "srv", backend_store_uri=db_uri, artifacts_destination=store):
        pass  # the server records its destination on start-up, then stops
    # A model logged by an embedded client that knows only the database URI (another home)...
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env.update({"TRACKFLOW_HOME": str(tmp_path / "elsewhere"), "TRACKFLOW_TRACKING_URI": db_uri})
    script = (
        "import trackflow\n"
        "with trackflow.start_run() as run:\n"
        "    trackflow.log_text('hello', 'notes/hello.txt')\n"
        "print(run.info.run_id)\n"
    )
    logged = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert logged.returncode == 0, logged.stderr
    run_id = logged.stdout.strip().splitlines()[-1]
    # ...lands in the server's destination, where a client of the server reads it.
    assert list((tmp_path / "store").rglob("hello.txt"))
    assert not (tmp_path / "elsewhere" / "artifacts").exists()
    with trackflow_server(tmp_path / "srv2", backend_store_uri=db_uri, artifacts_destination=store) as url:
        client = Client(url, settings=Settings(home=str(tmp_path / "remote-home")))
        assert [f.path for f in client.list_artifacts(run_id, "notes")] == ["notes/hello.txt"]
