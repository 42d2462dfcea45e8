"""`trackflow models serve` and `trackflow models predict` as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests

from servers import free_port

# The lead registers the group in trackflow.cli.main.COMMANDS; this makes the tests independent of that.
CLI = (
    "import sys, trackflow.cli.main as m; "
    "m.COMMANDS.setdefault('models', 'trackflow.cli.models:models'); sys.exit(m.main(sys.argv[1:]))"
)
COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]



def run_cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRACKFLOW_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", CLI, *args], capture_output=True, text=True, env=env, timeout=120)


TOKEN = "a-serving-token-of-some-length"


@pytest.mark.parametrize(("workers", "token"), [(1, False), (2, False), (2, True)])
def test_serve(iris_model_dir: Path, tmp_path: Path, workers: int, token: bool) -> None:
    port = free_port()
    log = open(tmp_path / "serve.log", "wb")
    env = {**os.environ, "TRACKFLOW_HOME": str(tmp_path), "TRACKFLOW_SERVING_TOKEN": TOKEN}
    process = subprocess.Popen(
        [sys.executable, "-c", CLI, "models", "serve", "-m", str(iris_model_dir), "--port", str(port),
         "--workers", str(workers), *(["--require-token"] if token else [])],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    headers = {"Authorization": f"Bearer {TOKEN}"} if token else {}
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/ping", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        row = {"inputs": [dict(zip(COLUMNS, [5.1, 3.5, 1.4, 0.2], strict=True))]}
        if token:  # probes stay open; predictions and metrics need the token
            for wrong in ({}, {"Authorization": "Bearer nope"}, {"Authorization": f"Basic {TOKEN}"}):
                refused = requests.post(f"http://127.0.0.1:{port}/invocations", json=row, headers=wrong, timeout=10)
                assert refused.status_code == 401 and refused.json()["error_code"] == "UNAUTHENTICATED"
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).status_code == 401
            assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200
        for _ in range(4):
            response = requests.post(f"http://127.0.0.1:{port}/invocations", json=row, headers=headers, timeout=10)
            assert response.json() == {"predictions": [0]}
        metrics = requests.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=5).text
        assert 'trackflow_scoring_requests_total{endpoint="invocations",status="200"} 4.0' in metrics
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_predict_files(iris_model_dir: Path, tmp_path: Path, iris: Any, fmt: str) -> None:
    X = iris[0][:5]
    source = tmp_path / f"in.{fmt}"
    if fmt == "csv":
        X.to_csv(source, index=False)
    elif fmt == "json":
        source.write_text(json.dumps({"dataframe_split": {"columns": list(X.columns), "data": X.values.tolist()}}))
    else:
        X.to_parquet(source)
    expected = iris[2].predict(X).tolist()
    result = run_cli("models", "predict", "-m", str(iris_model_dir), "-i", str(source), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"predictions": expected}
    out = tmp_path / "out.csv"
    result = run_cli("models", "predict", "-m", str(iris_model_dir), "-i", str(source), "-o", str(out), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert pd.read_csv(out)["prediction"].tolist() == expected


def test_predict_bad_input_is_one_line_exit_2(iris_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("a,b\n1,2\n")
    result = run_cli("models", "predict", "-m", str(iris_model_dir), "-i", str(tmp_path / "in.csv"), home=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error:") and "missing column" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("models", "predict", "-m", str(tmp_path / "nope"), "-i", str(tmp_path / "in.csv"), home=tmp_path)
    assert result.returncode == 2 and "no model at" in result.stderr


def test_require_token_needs_a_token(iris_model_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRACKFLOW_SERVING_TOKEN"}
    proc = subprocess.run([sys.executable, "-c", CLI, "models", "serve", "-m", str(iris_model_dir), "--require-token"],
                          capture_output=True, text=True, env={**env, "TRACKFLOW_HOME": str(tmp_path)}, timeout=60)
    assert proc.returncode == 2 and "TRACKFLOW_SERVING_TOKEN" in proc.stderr
