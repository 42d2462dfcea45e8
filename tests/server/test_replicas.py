"""Server replicas on one PostgreSQL database and one S3-compatible bucket: 64 concurrent
tracking clients (the official mlflow client, 16 processes x 4 threads) split over two
`trackflow server` processes lose nothing; `--workers 2` serves from two processes and
replaces one that is SIGKILLed while requests keep being answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

pytestmark = pytest.mark.slow

CLIENT = r'''
import json, sys, threading
from mlflow import MlflowClient

url, experiment_id, prefix, points = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = MlflowClient(tracking_uri=url)
done = []

def one(n):
    run = client.create_run(experiment_id, run_name=f"{prefix}-{n}")
    run_id = run.info.run_id
    client.log_param(run_id, "client", f"{prefix}-{n}")
    for step in range(points):
        client.log_metric(run_id, "m", float(step), step=step)
    client.log_text(run_id, f"{prefix}-{n}", "who.txt")
    client.set_terminated(run_id)
    done.append(run_id)

threads = [threading.Thread(target=one, args=(n,)) for n in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print("CREATED " + json.dumps(done))
'''


def test_64_concurrent_clients_over_two_replicas_lose_nothing(tmp_path: Path, trackflow_server: Any,
                                                              postgres_uri: str, s3_endpoint: str,
                                                              s3_bucket: str) -> None:
    env = {"MLFLOW_S3_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    destination = f"s3://{s3_bucket}/replicas"
    with trackflow_server(tmp_path / "a", backend_store_uri=postgres_uri, artifacts_destination=destination,
                          env=env, extra_args=("--no-scheduler",)) as a, \
            trackflow_server(tmp_path / "b", backend_store_uri=postgres_uri, artifacts_destination=destination,
                             env=env, extra_args=("--no-scheduler",)) as b:
        experiment_id = requests.post(f"{a}/api/2.0/mlflow/experiments/create", json={"name": "replicas"},
                                      timeout=30).json()["experiment_id"]
        child_env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "TRACKFLOW_"))}
        procs = [subprocess.Popen([sys.executable, "-c", CLIENT, str(a if n % 2 else b), experiment_id, f"c{n}", "25"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env)
                 for n in range(16)]
        created: list[str] = []
        for proc in procs:
            out, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            created += json.loads(out.rsplit("CREATED ", 1)[1])  # the client also prints "View run" links
        assert len(created) == 64 == len(set(created))
        for server in (a, b):  # both replicas see every run, every point and every artifact
            body = {"experiment_ids": [experiment_id], "max_results": 1000}
            runs = requests.post(f"{server}/api/2.0/mlflow/runs/search", json=body, timeout=60).json()["runs"]
            assert sorted(r["info"]["run_id"] for r in runs) == sorted(created)
            assert all(r["info"]["status"] == "FINISHED" for r in runs)
        for run_id in created[::7]:
            params = {"run_id": run_id, "metric_key": "m"}
            history = requests.get(f"{b}/api/2.0/mlflow/metrics/get-history", params=params, timeout=30).json()
            history = history["metrics"]
            assert sorted(m["step"] for m in history) == list(range(25))
            files = requests.get(f"{a}/api/2.0/mlflow/artifacts/list", params={"run_id": run_id}, timeout=30).json()
            assert [f["path"] for f in files["files"]] == ["who.txt"]


def test_workers_serve_from_several_processes_and_replace_a_killed_one(tmp_path: Path, trackflow_server: Any,
                                                                       postgres_uri: str) -> None:
    with trackflow_server(tmp_path / "w", backend_store_uri=postgres_uri, extra_args=("--workers", "2")) as url:
        parent = psutil.Process(url.process.pid)

        def serving() -> list[psutil.Process]:
            alive = []
            for child in parent.children():
                try:
                    if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                        alive.append(child)
                except psutil.Error:  # ended meanwhile (the killed one, until it is reaped)
                    continue
            return alive

        deadline = time.monotonic() + 60
        while len(serving()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = serving()
        assert len(workers) == 2
        victim = workers[0]
        victim.send_signal(signal.SIGKILL)
        answered = 0
        while time.monotonic() < deadline:
            assert requests.get(f"{url}/api/2.0/mlflow/experiments/search", params={"max_results": 5},
                                timeout=30).status_code == 200  # the other worker answers meanwhile
            answered += 1
            now = serving()
            if len(now) == 2 and victim.pid not in {p.pid for p in now}:
                break
            time.sleep(0.2)
        assert answered > 0 and len(serving()) == 2 and victim.pid not in {p.pid for p in serving()}
        health = requests.get(f"{url}/health", timeout=30)
        assert health.status_code == 200, health.text
