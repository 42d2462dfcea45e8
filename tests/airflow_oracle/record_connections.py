"""Record what Airflow 3's own ``airflow.models.connection.Connection`` makes of the connection
URIs and fields of tests/pipelines/test_connections.py into connections.json: each URI parsed
and written back, each set of fields written as a URI and read again. `make airflow-oracle` runs
it in the pinned Airflow (benchmarks/.work/venv-airflow, or $AIRFLOW_PYTHON); the suite compares
trackflow's Connection against the file, so CI needs no Airflow installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
AIRFLOW_PYTHON = Path(os.environ.get("AIRFLOW_PYTHON", ROOT / "benchmarks/.work/venv-airflow/bin/python"))
RECORDING = HERE / "connections.json"

URIS = [
    "postgresql://user:p%40ss%2Fw0rd@Host.Example.com:5432/my_db?sslmode=require&connect_timeout=10",
    "mysql://root@localhost/db",
    "http://example.com",
    "https://user:pw@api.example.com:8443/v1",
    "google-cloud-platform://?__extra__=%7B%22project%22%3A+%22p%22%2C+%22nested%22%3A+%7B%22a%22%3A+1%7D%7D",
    "spark://spark%3A%2F%2Fmaster.internal:7077",
    "postgres://h/db?connect_timeout=10&keepalives=true&name=x",
    "my-conn-type://login@host",
    "sqlite://%2Ftmp%2Fdb.sqlite",
    "redis://:secret@redis.internal:6379/0",
    "aws://?region_name=eu-west-1&role_arn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx",
    "generic://user%20name:pass%20word@h/some%2Fschema",
]
FIELD_CASES: list[dict[str, Any]] = [
    {"conn_type": "postgres", "host": "h", "login": "us er", "password": "p@ss:/w", "port": 5432, "schema": "db",
     "extra": '{"a": "b"}'},
    {"conn_type": "google_cloud_platform", "extra": '{"nested": {"x": 1}}'},
    {"conn_type": "http", "host": "https://api.example.com", "login": "u"},
    {"conn_type": "generic", "port": 8080},
    {"conn_type": "generic", "password": "only-pw"},
    {"conn_type": "spark", "host": "spark://master.internal", "port": 7077},
    {"conn_type": "generic", "host": "h", "extra": '{"n": 10, "flag": true}'},
    {"conn_type": "fs", "extra": '{"path": "/data", "flag": ""}'},
]

AIRFLOW_SCRIPT = """
import json, sys
from airflow.models.connection import Connection
cases = json.load(sys.stdin)
fields = ("conn_type", "host", "schema", "login", "password", "port", "extra")
def view(c):
    return {f: getattr(c, f) for f in fields}
out = {"uris": [], "fields": []}
for uri in cases["uris"]:
    c = Connection(conn_id="x", uri=uri)
    out["uris"].append({"parsed": view(c), "uri": c.get_uri()})
for given in cases["fields"]:
    c = Connection(conn_id="x", **given)
    again = Connection(conn_id="x", uri=c.get_uri())
    out["fields"].append({"uri": c.get_uri(), "round_trip": view(again)})
print(json.dumps(out))
"""




def ask_airflow() -> dict[str, Any]:
    """Airflow's answers for the cases (needs the pinned Airflow venv)."""
    env = {**os.environ, "AIRFLOW_HOME": tempfile.mkdtemp(prefix="airflow-conn-")}
    proc = subprocess.run([str(AIRFLOW_PYTHON), "-c", AIRFLOW_SCRIPT], input=json.dumps(
        {"uris": URIS, "fields": FIELD_CASES}), capture_output=True, text=True, env=env, timeout=300, check=False)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    version = subprocess.run([str(AIRFLOW_PYTHON), "-c", "import airflow; print(airflow.__version__)"],
                             capture_output=True, text=True, env=env, check=True).stdout.strip().splitlines()[-1]
    return {"airflow": version, "cases": {"uris": URIS, "fields": FIELD_CASES},
            **json.loads(proc.stdout.strip().splitlines()[-1])}


if __name__ == "__main__":  # --stdout: print the answers instead of writing the file (the suite's check)
    answers = json.dumps(ask_airflow(), indent=1, sort_keys=True) + "\n"
    if "--stdout" in sys.argv[1:]:
        sys.stdout.write(answers)
    else:
        RECORDING.write_text(answers)
        print(f"wrote {RECORDING}", file=sys.stderr)
