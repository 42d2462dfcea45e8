"""README's "Team setup", as a new user follows it, on real processes: PostgreSQL, an
S3-compatible store (moto), Redis, `trackflow server` with the Celery executor, two
`trackflow worker`s that hold no database or S3 credentials (a bogus database URI in their
environment proves they never use one), and the CLI against the server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import psycopg
import pytest
import requests
from pipeline_helpers import DAGS, wait_for

from trackflow.tracking.client import Client

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BROKER = "redis://127.0.0.1:6379/10"


@pytest.fixture
def team_database() -> Iterator[str]:
    name = f"tf_team_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trackflow", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_team_setup_runs_a_pipeline_on_workers_without_database_credentials(
        tmp_path: Path, team_database: str, s3_endpoint: str, s3_bucket: str, trackflow_server: object) -> None:
    import redis

    redis.Redis.from_url(BROKER).flushdb()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "tracked_outputs.py").write_bytes((DAGS / "tracked_outputs.py").read_bytes())
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_", "AWS_"))}
    server_env = {**base, "MLFLOW_S3_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                  "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                  "TRACKFLOW_EXECUTOR": "celery", "TRACKFLOW_CELERY_BROKER_URL": BROKER}
    start = trackflow_server  # conftest's start_trackflow_server
    with start(tmp_path / "server", backend_store_uri=team_database,  # type: ignore[operator]
               artifacts_destination=f"s3://{s3_bucket}/team", env=server_env,
               extra_args=("--dags-folder", str(dags))) as url:
        worker_env = {**base, "TRACKFLOW_CELERY_BROKER_URL": BROKER,
                      "TRACKFLOW_TRACKING_URI": "postgresql://nobody@127.0.0.1:1/none"}
        workers = []
        for n in range(2):
            home = tmp_path / f"worker-{n}"
            home.mkdir()
            log = open(home / "worker.log", "wb")  # noqa: SIM115 - closed below
            workers.append((subprocess.Popen(
                [sys.executable, "-m", "trackflow", "--home", str(home), "worker", "--concurrency", "2"],
                stdout=log, stderr=subprocess.STDOUT, env=worker_env, start_new_session=True), log, home))
        try:
            for _, _, home in workers:
                wait_for(lambda h=home: " ready." in (h / "worker.log").read_text(), "a worker to be ready")
            user = {**base, "TRACKFLOW_TRACKING_URI": str(url)}
            wait_for(lambda: "tracked_outputs" in cli("dags", "list", env=user).stdout, "the DAG to be parsed")
            assert cli("dags", "unpause", "tracked_outputs", env=user).returncode == 0
            triggered = cli("dags", "trigger", "tracked_outputs", "--run-id", "team", env=user)
            assert triggered.returncode == 0, triggered.stderr

            def state() -> str:
                runs = json.loads(cli("dags", "runs", "tracked_outputs", "--output", "json", env=user).stdout)
                return next(r["state"] for r in runs if r["run_id"] == "team")

            wait_for(lambda: state() in ("success", "failed"), "the run to end")
            assert state() == "success", "\n".join((h / "worker.log").read_text()[-3000:] for _, _, h in workers)
            detail = requests.get(f"{url}/api/v1/dags/tracked_outputs/dagRuns/team", timeout=30).json()
            tis = {t["task_id"]: t for t in detail["task_instances"]}
            assert {t["state"] for t in tis.values()} == {"success"}
            # the task's metric reached the server, its large value the S3 bucket (through the server)
            client = Client(str(url))
            tracked = client.get_run(tis["train"]["tracking_run_id"])
            assert tracked.data.metrics["loss"] == 0.25
            keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(
                Bucket=s3_bucket, Prefix="team/")["Contents"]]
            assert any(k.endswith("outputs/return_value.npy") for k in keys), keys
            logs = cli("dags", "logs", "tracked_outputs", "team", "train", env=user)
            assert "training done" in logs.stdout
        finally:
            for proc, log, _ in workers:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                log.close()
