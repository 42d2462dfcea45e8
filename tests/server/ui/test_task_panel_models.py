"""With auth on, a task panel's "models produced" (model versions registered from the task's
tracked runs) lists only the registered models the viewer may read: on the HTML page and its
/api/v1/ui twin. A real DAG run (``trackflow dags test``), a real server, real grants."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from servers import ThreadServer
from trackflow.auth.permissions import Level
from trackflow.config import Settings
from trackflow.server.app import create_app

DAG_FILE = '''
from datetime import datetime
from trackflow import dag, task


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def makes_models():
    @task
    def train() -> None:
        print("trained")

    train()


makes_models()
'''
ADMIN, BOB = ("admin", "admin-password-1"), ("bob", "bob-password-1")


def test_task_panel_lists_only_models_the_viewer_may_read(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "makes_models.py").write_text(DAG_FILE)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")}, "TRACKFLOW_HOME": str(home)}
    proc = subprocess.run([sys.executable, "-m", "trackflow", "dags", "test", "makes_models", "--dags-folder",
                           str(tmp_path / "makes_models.py")], capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run_id = re.search(r"DAG run (\S+) of", proc.stdout)[1]  # type: ignore[index]

    app = create_app(Settings(home=str(home), auth=True, auth_default_permission="NO_PERMISSIONS"))
    services, now = app.state.services, datetime.now(UTC)
    services.accounts.create_user(ADMIN[0], ADMIN[1], True, now)
    services.accounts.create_user(BOB[0], BOB[1], False, now)
    with ThreadServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        panel_api = f"/api/v1/ui/dags/makes_models/runs/{run_id}/tasks/train"
        tracked = client.get(panel_api, auth=ADMIN).json()["tries"][0]["tracking_run_id"]
        assert tracked
        for name in ("visible-model", "hidden-model"):
            assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": name},
                               auth=ADMIN).status_code == 200
            made = client.post("/api/2.0/mlflow/model-versions/create", auth=ADMIN,
                               json={"name": name, "source": f"runs:/{tracked}/model", "run_id": tracked})
            assert made.status_code == 200, made.text
        services.permissions.grant("user", BOB[0], "dag", "makes_models", Level.READ)
        services.permissions.grant("user", BOB[0], "registered_model", "visible-model", Level.READ)
        services.permissions.grant("user", BOB[0], "experiment", "0", Level.READ)

        assert sorted(m["name"] for m in client.get(panel_api, auth=ADMIN).json()["models"]) == [
            "hidden-model", "visible-model"]
        as_bob = client.get(panel_api, auth=BOB)
        assert as_bob.status_code == 200, as_bob.text
        assert [m["name"] for m in as_bob.json()["models"]] == ["visible-model"]
        page = client.get(f"/dags/makes_models/runs/{run_id}/tasks/train", auth=BOB,
                          headers={"Accept": "text/html"})
        assert page.status_code == 200, page.text[:500]
        assert "visible-model" in page.text and "hidden-model" not in page.text
        admin_page = client.get(f"/dags/makes_models/runs/{run_id}/tasks/train", auth=ADMIN,
                                headers={"Accept": "text/html"})
        assert "hidden-model" in admin_page.text  # the page does show models: the filter is what hid it
    services.db.dispose()
