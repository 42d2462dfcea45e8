"""A model registered in a trackflow server, served by URI by both scoring servers.

trackflow's own client logs an iris classifier to a ``trackflow server`` and registers it as
``iris`` (alias ``champion``). Then ``mlflow models serve`` (the pinned MLflow 3.17.2, with
``MLFLOW_TRACKING_URI`` set to the trackflow server) and ``trackflow models serve`` (with
``TRACKFLOW_TRACKING_URI`` or ``--tracking-uri``) serve it as ``models:/iris/<version>``,
``models:/iris@champion`` and ``models:/m-<model id>`` (the MLflow 3 logged model), and must
predict what the model predicted where it was trained.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from scoring_servers import (
    mlflow_serve_command,
    mlflow_serve_env,
    serving,
    trackflow_serve_command,
    trackflow_serve_env,
)

from servers import free_port

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).parent / "scripts" / "register_iris.py"


@pytest.fixture(scope="module")
def registered(running_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    workdir = tmp_path_factory.mktemp("register-iris")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), running_server],
        cwd=workdir, env=trackflow_serve_env(workdir / "home"), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def model_uri(registered: dict[str, Any], kind: str) -> str:
    return {
        "version": f"models:/iris/{registered['version']}",
        "alias": "models:/iris@champion",
        "model_id": f"models:/{registered['model_id']}",
    }[kind]


@pytest.mark.parametrize("kind", ["version", "alias", "model_id"])
@pytest.mark.parametrize("system", ["mlflow", "trackflow"])
def test_registered_model_is_served_by_uri(
    running_server: str, registered: dict[str, Any], tmp_path: Path, system: str, kind: str
) -> None:
    uri, port = model_uri(registered, kind), free_port()
    if system == "mlflow":
        command = mlflow_serve_command(uri, port)
        env = mlflow_serve_env(MLFLOW_TRACKING_URI=running_server)
    elif kind == "alias":  # the global option instead of the environment variable
        command = trackflow_serve_command(uri, port, "--tracking-uri", running_server)
        env = trackflow_serve_env(tmp_path / "home")
    else:
        command = trackflow_serve_command(uri, port)
        env = trackflow_serve_env(tmp_path / "home", TRACKFLOW_TRACKING_URI=running_server)
    with serving(command, env, tmp_path / "serve.log", port, f"{system} models serve -m {uri}") as url:
        from sklearn.datasets import load_iris

        rows = load_iris(as_frame=True).data[registered["columns"]].to_numpy().tolist()
        split = {"dataframe_split": {"columns": registered["columns"], "data": rows}}
        response = requests.post(f"{url}/invocations", json=split, timeout=60)
        assert response.status_code == 200, f"{response.text}\n{url.log()[-5000:]}"
        assert response.json() == {"predictions": registered["predictions"]}
        one = {"inputs": [dict(zip(registered["columns"], rows[0], strict=True))]}
        response = requests.post(f"{url}/invocations", json=one, timeout=60)
        assert response.json() == {"predictions": registered["predictions"][:1]}
