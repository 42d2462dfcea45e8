"""Connections (Airflow's): Airflow's URI format compared with the real Airflow's Connection,
set from the CLI and the REST API, read by a task (BaseHook.get_connection, {{ conn.x.host }})
with the password masked in its log, an AIRFLOW_CONN_* variable winning over the stored one,
the password and extra encrypted at rest, and the access rules with auth on."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from servers import ThreadServer
from trackflow.config import Settings
from trackflow.entities.connection import Connection
from trackflow.server.app import create_app

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "airflow_oracle"
RECORDING = ORACLE / "connections.json"  # Airflow 3.3.2's answers (tests/airflow_oracle/record_connections.py)
AIRFLOW_PYTHON = Path(os.environ.get("AIRFLOW_PYTHON", ROOT / "benchmarks/.work/venv-airflow/bin/python"))
DAGS = ROOT / "tests" / "dags"
SECRET = "pa55:w/rd@hunter2"
FIELDS = ("conn_type", "host", "schema", "login", "password", "port", "extra")

def _view(conn: Connection) -> dict[str, Any]:
    return {f: getattr(conn, f) for f in FIELDS}


def test_uri_format_matches_airflows_connection() -> None:
    """trackflow's Connection against Airflow 3.3.2's, as recorded by `make airflow-oracle`."""
    recorded = json.loads(RECORDING.read_text())
    uris, field_cases = recorded["cases"]["uris"], recorded["cases"]["fields"]
    assert len(uris) >= 12 and len(field_cases) >= 8
    for uri, theirs in zip(uris, recorded["uris"], strict=True):
        ours = Connection(conn_id="x", uri=uri)
        assert _view(ours) == theirs["parsed"], uri
        assert ours.get_uri() == theirs["uri"], uri
        assert _view(Connection.from_uri(uri)) == theirs["parsed"], uri
    for given, theirs in zip(field_cases, recorded["fields"], strict=True):
        ours = Connection(conn_id="x", **given)
        assert ours.get_uri() == theirs["uri"], given
        assert _view(Connection.from_uri(ours.get_uri())) == theirs["round_trip"], given


@pytest.mark.skipif(not AIRFLOW_PYTHON.exists(),
                    reason=f"no Airflow venv at {AIRFLOW_PYTHON} to re-ask (bash benchmarks/run.sh setup)")
def test_the_recording_is_what_airflow_answers_today() -> None:
    env = {**os.environ, "AIRFLOW_PYTHON": str(AIRFLOW_PYTHON)}
    fresh = subprocess.run([sys.executable, str(ORACLE / "record_connections.py"), "--stdout"], capture_output=True,
                           text=True, timeout=600, check=False, env=env)
    assert fresh.returncode == 0, fresh.stderr[-3000:]
    assert json.loads(fresh.stdout) == json.loads(RECORDING.read_text()), "re-record: make airflow-oracle"


def test_bad_uris_and_fields_are_refused_naming_them() -> None:
    from trackflow.errors import InvalidInput

    for bad in ("no-scheme-here", "a://b://c://d", "postgres://h:notaport/db", "spark://spark://master:7077"):
        with pytest.raises(InvalidInput, match="invalid connection URI"):
            Connection.from_uri(bad)
    with pytest.raises(InvalidInput, match="extra must be a JSON object"):
        Connection(conn_id="x", conn_type="http", extra="[1, 2]")
    with pytest.raises(InvalidInput, match="port"):
        Connection(conn_id="x", conn_type="http", port="eighty")  # type: ignore[arg-type]
    assert "hunter2" not in repr(Connection(conn_id="x", conn_type="http", password="hunter2", extra='{"k": 1}'))


def test_environment_connections_as_uri_or_json() -> None:
    from trackflow.errors import InvalidInput
    from trackflow.pipelines.connections import from_environment

    environ = {"AIRFLOW_CONN_MY_DB": "postgresql://u:p%2Fw@db:5432/dw?sslmode=require",
               "AIRFLOW_CONN_API": '{"conn_type": "http", "host": "api", "port": "8080", "extra": {"token": "t"}}',
               "AIRFLOW_CONN_BROKEN": '{"conn_type": "http", "hots": "typo"}'}
    uri_form = from_environment("my_db", environ)
    assert uri_form is not None
    assert (uri_form.conn_id, uri_form.conn_type, uri_form.password) == ("my_db", "postgres", "p/w")
    assert uri_form.port == 5432
    assert uri_form.extra_dejson == {"sslmode": "require"}
    json_form = from_environment("api", environ)
    assert json_form is not None and (json_form.host, json_form.port, json_form.extra_dejson) == ("api", 8080,
                                                                                                 {"token": "t"})
    assert from_environment("absent", environ) is None
    with pytest.raises(InvalidInput, match="hots"):
        from_environment("broken", environ)


def test_tasks_read_connections_encrypted_masked_and_env_first(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "AIRFLOW_CONN_"))},
           "TRACKFLOW_HOME": str(home)}

    def cli(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackflow", *args], capture_output=True, text=True,
                              env={**env, **(extra_env or {})}, timeout=120)

    uri = Connection(conn_type="postgres", host="db.internal", login="etl", password=SECRET, port=5432,
                     schema="warehouse", extra='{"sslmode": "require", "api_token": "tok-abcdef"}').get_uri()
    added = cli("connections", "add", "warehouse", "--conn-uri", uri, "--conn-description", "the warehouse")
    assert added.returncode == 0, added.stderr
    assert cli("connections", "add", "override", "--conn-type", "http", "--conn-host", "stored-host").returncode == 0
    env_override = {"AIRFLOW_CONN_OVERRIDE": json.dumps({"conn_type": "https", "host": "env-host"})}
    proc = cli("dags", "test", "uses_connections", "--dags-folder", str(DAGS / "connections.py"),
               extra_env=env_override)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_id = re.search(r"DAG run (\S+) of", proc.stdout)[1]  # type: ignore[index]
    log = cli("dags", "logs", "uses_connections", run_id, "connect").stdout
    assert "connecting to db.internal:5432/warehouse as etl with password ***" in log, log
    assert SECRET not in log and "sslmode=require api_token=***" in log and "tok-abcdef" not in log
    assert "override host=env-host" in log  # the environment wins over the stored connection
    shown = cli("dags", "logs", "uses_connections", run_id, "show").stdout
    assert "host=db.internal type=https" in shown, shown

    got = cli("connections", "get", "warehouse")
    assert got.returncode == 0 and Connection.from_uri(got.stdout.strip()).password == SECRET
    as_json = json.loads(cli("connections", "get", "warehouse", "--output", "json").stdout)
    assert json.loads(as_json["extra"]) == {"sslmode": "require", "api_token": "tok-abcdef"}
    assert as_json["description"] == "the warehouse"
    listed = json.loads(cli("connections", "list", "--output", "json").stdout)
    assert [c["conn_id"] for c in listed] == ["override", "warehouse"]
    assert SECRET not in json.dumps(listed) and "sslmode" not in json.dumps(listed)
    with sqlite3.connect(home / "trackflow.db") as db:  # password and extra encrypted at rest
        row = db.execute("SELECT * FROM pl_connections WHERE conn_id = 'warehouse'").fetchone()
    raw = json.dumps(row)
    assert SECRET not in raw and "hunter2" not in raw and "tok-abcdef" not in raw and "sslmode" not in raw
    assert "db.internal" in raw

    for args, fragment in [
        (("connections", "get", "nope"), "does not exist"),
        (("connections", "delete", "nope"), "does not exist"),
        (("connections", "add", "x", "--conn-uri", "not a uri"), "invalid connection URI"),
        (("connections", "add", "x", "--conn-host", "h"), "--conn-type"),
        (("connections", "add", "x", "--conn-uri", "http://h", "--conn-host", "h"), "not both"),
        (("connections", "add", "x", "--conn-type", "http", "--conn-extra", "[1]"), "--conn-extra"),
        (("connections", "add", "x", "--conn-type", "http", "--conn-port", "70000"), "port"),
    ]:
        failed = cli(*args)
        assert failed.returncode == 2, (args, failed.stdout, failed.stderr)
        assert fragment in failed.stderr and len(failed.stderr.strip().splitlines()) == 1, (args, failed.stderr)
    assert cli("connections", "delete", "override").returncode == 0

    # the REST API, and the CLI through a server's URL
    app = create_app(Settings(home=str(home)))
    with ThreadServer(app) as server:
        api = f"{server.url}/api/v1/connections"
        put = requests.put(f"{api}/api_conn", json={"conn_type": "http", "host": "h", "password": "pw-12345",
                                                    "extra": '{"token": "tok-999"}', "port": 8080}, timeout=30)
        assert put.status_code == 200 and "pw-12345" not in put.text and put.json()["port"] == 8080
        one = requests.get(f"{api}/api_conn", timeout=30).json()
        assert one["password"] == "pw-12345" and one["extra"] == '{"token": "tok-999"}'
        listing = requests.get(api, timeout=30)
        assert [c["conn_id"] for c in listing.json()["connections"]] == ["api_conn", "warehouse"]
        assert "pw-12345" not in listing.text and "tok-999" not in listing.text and SECRET not in listing.text
        assert requests.get(f"{api}/nope", timeout=30).status_code == 404
        for bad in ({"conn_type": "http", "port": 0}, {"host": "h"}, {"conn_type": "http", "nope": 1},
                    {"conn_type": ""}):
            refused = requests.put(f"{api}/bad", json=bad, timeout=30)
            assert refused.status_code == 400 and refused.json()["error_code"] == "INVALID_PARAMETER_VALUE", bad
        assert requests.put(f"{api}/{'k' * 251}", json={"conn_type": "http"}, timeout=30).status_code == 400
        remote = cli("connections", "get", "api_conn", extra_env={"TRACKFLOW_TRACKING_URI": server.url})
        assert remote.stdout.strip() == "http://:pw-12345@h:8080/?token=tok-999", remote.stderr
        assert requests.delete(f"{api}/api_conn", timeout=30).status_code == 200
        assert requests.delete(f"{api}/api_conn", timeout=30).status_code == 404
    app.state.services.db.dispose()


def test_connections_api_is_for_admins_with_auth_on(tmp_path: Path) -> None:
    app = create_app(Settings(home=str(tmp_path / "home"), auth=True))
    now = datetime.now(UTC)
    accounts = app.state.services.accounts
    accounts.create_user("admin", "admin-password-1", True, now)
    accounts.create_user("bob", "bob-password-1", False, now)
    with ThreadServer(app) as server:
        api = f"{server.url}/api/v1/connections"
        admin, bob = ("admin", "admin-password-1"), ("bob", "bob-password-1")
        body = {"conn_type": "http", "host": "h", "password": "pw-12345"}
        assert requests.put(f"{api}/c", json=body, auth=bob, timeout=30).status_code == 403
        assert requests.put(f"{api}/c", json=body, auth=admin, timeout=30).status_code == 200
        for method, url in (("GET", api), ("GET", f"{api}/c"), ("DELETE", f"{api}/c")):
            assert requests.request(method, url, auth=bob, timeout=30).status_code == 403, (method, url)
            assert requests.request(method, url, timeout=30).status_code == 401, (method, url)
        assert requests.get(f"{api}/c", auth=admin, timeout=30).json()["password"] == "pw-12345"
    app.state.services.db.dispose()


def test_airflow_imports_reach_connections() -> None:
    """DAG code written for Airflow: ``airflow.hooks.base.BaseHook`` and
    ``airflow.models.connection.Connection`` are trackflow's through the import shim."""
    script = ("import sys; sys.modules.pop('airflow', None)\n"
              "from trackflow.pipelines.authoring import airflow_shim\n"
              "assert airflow_shim.install()\n"
              "from airflow.hooks.base import BaseHook\n"
              "from airflow.models.connection import Connection\n"
              "from airflow.exceptions import AirflowNotFoundException\n"
              "import trackflow\n"
              "assert BaseHook is trackflow.BaseHook and Connection is trackflow.Connection\n"
              "try:\n    BaseHook.get_connection('missing')\nexcept AirflowNotFoundException as e:\n    print(e)\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "AIRFLOW_CONN_"))},
           "AIRFLOW_CONN_MISSING": ""}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**env, "TRACKFLOW_HOME": str(Path(os.environ.get("TRACKFLOW_HOME", "/tmp")))})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "The conn_id `missing` isn't defined" in proc.stdout
