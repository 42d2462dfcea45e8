"""/api/v1 pipeline routes over real HTTP, with the scheduler service running in the app."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn
from pipeline_helpers import DAGS, wait_for
from test_scheduler_loop import FAST

from trackflow.config import Settings
from trackflow.pipelines.service import PipelineService
from trackflow.server.api_v1.pipelines import SERVICE_KEY
from trackflow.server.app import create_app
from trackflow.server.services import Services


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import socket

    dags = tmp_path / "dags"
    dags.mkdir()
    for name in ("taskflow_etl.py", "broken_import.py", "broken_cycle.py"):
        shutil.copy(DAGS / name, dags / name)
    monkeypatch.setenv("TF_TEST_ENV", "api")
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(dags), parallelism=4)
    services = Services.from_settings(settings)
    app = create_app(settings, services)
    service = PipelineService(settings, services.db, options=FAST)
    services.extras[SERVICE_KEY] = service
    service.start()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: server.started, "the HTTP server")
    try:
        yield base + "/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.stop()


def get(url: str, **kw: Any) -> Any:
    response = requests.get(url, timeout=30, **kw)
    assert response.status_code == 200, response.text
    return response.json()


def test_dags_runs_task_instances_logs_clear_and_mark(api: str) -> None:
    listing = wait_for(lambda: (lambda d: d if d["dags"] else None)(get(f"{api}/dags")), "parsing")
    assert [d["dag_id"] for d in listing["dags"]] == ["taskflow_etl"]
    errors = {Path(e["fileloc"]).name: e["stacktrace"] for e in listing["import_errors"]}
    assert "module_that_does_not_exist" in errors["broken_import.py"] and "cycle" in errors["broken_cycle.py"]

    detail = get(f"{api}/dags/taskflow_etl")
    assert {t["task_id"] for t in detail["tasks"]} == {"extract", "transform", "load", "load_again", "report"}
    assert {"source": "load", "target": "report"} in detail["edges"]
    assert detail["params"]["multiplier"]["default"] == 2

    assert requests.patch(f"{api}/dags/taskflow_etl", json={"is_paused": True}, timeout=30).json()["is_paused"]
    assert not requests.patch(f"{api}/dags/taskflow_etl", json={"is_paused": False}, timeout=30).json()["is_paused"]

    bad = requests.post(f"{api}/dags/taskflow_etl/dagRuns", json={"conf": {"multiplier": "many"}}, timeout=30)
    assert bad.status_code == 400 and "multiplier" in bad.json()["message"]
    missing = requests.post(f"{api}/dags/nope/dagRuns", json={}, timeout=30)
    assert missing.status_code == 404 and "nope" in missing.json()["message"]
    assert requests.get(f"{api}/dags/taskflow_etl/dagRuns/nope", timeout=30).status_code == 404

    run = requests.post(f"{api}/dags/taskflow_etl/dagRuns", json={"conf": {"multiplier": 4}, "run_id": "api_run"},
                        timeout=30).json()
    assert run["run_id"] == "api_run" and run["conf"] == {"multiplier": 4}
    url = f"{api}/dags/taskflow_etl/dagRuns/api_run"
    done = wait_for(lambda: (lambda r: r if r["state"] in ("success", "failed") else None)(get(url)), "the run")
    assert done["state"] == "success"
    assert all(t["state"] == "success" and t["try_number"] == 1 and t["start_date"] and t["end_date"]
               for t in done["task_instances"])
    run_types = {r["run_id"]: r["run_type"] for r in get(f"{api}/dags/taskflow_etl/dagRuns")["dag_runs"]}
    assert run_types["api_run"] == "manual"
    assert set(run_types.values()) <= {"manual", "scheduled"}  # @daily, catchup=False: today's run too

    log = get(f"{url}/taskInstances/load/logs")
    assert log["try_number"] == 1 and "Done. Returned value was: 'memory:24" in log["content"]
    assert log["next_offset"] == len(log["content"])
    tail = get(f"{url}/taskInstances/load/logs", params={"offset": 10})  # what a follower polls for
    assert tail["content"] == log["content"][10:] and tail["next_offset"] == log["next_offset"]
    assert get(f"{url}/taskInstances/load/logs", params={"offset": 10**9})["content"] == ""
    lineage = get(f"{url}/lineage")["edges"]
    assert {"producer_task_id": "transform", "producer_map_index": -1, "key": "return_value",
            "consumer_task_id": "load", "consumer_map_index": -1} in lineage

    cleared = requests.post(f"{url}/taskInstances/report/clear", json={}, timeout=30).json()
    assert cleared == {"cleared": ["report"]}
    again = wait_for(lambda: (lambda r: r if r["state"] == "success" and any(
        t["task_id"] == "report" and t["try_number"] == 2 for t in r["task_instances"]) else None)(get(url)),
        "the cleared task to run again")
    assert again["state"] == "success"

    marked = requests.patch(f"{url}/taskInstances/report", json={"state": "failed"}, timeout=30)
    assert marked.json() == {"marked": ["report"], "state": "failed"}
    wait_for(lambda: get(url)["state"] == "failed", "the run to turn failed")
    upstream = requests.patch(f"{url}/taskInstances/transform",
                              json={"state": "failed", "include_upstream": True}, timeout=30).json()
    assert upstream == {"marked": ["transform", "extract"], "state": "failed"}
    states = {t["task_id"]: t["state"] for t in get(url)["task_instances"]}
    assert states["extract"] == states["transform"] == "failed" and states["load"] == "success"
    both = requests.post(f"{url}/taskInstances/transform/clear",
                         json={"include_upstream": True, "include_downstream": True}, timeout=30).json()
    assert set(both["cleared"]) == {"extract", "transform", "load", "load_again", "report"}
    wait_for(lambda: get(url)["state"] == "success", "the cleared run to run again")
    assert requests.patch(f"{url}/taskInstances/report", json={"state": "bogus"}, timeout=30).status_code == 400

    spec = requests.get(api + "/openapi.json", timeout=30).json()
    assert "/api/v1/dags/{dag_id}/dagRuns" in spec["paths"]


def test_pools_endpoint(api: str) -> None:
    assert requests.put(f"{api}/pools/gpu", json={"slots": 2}, timeout=30).json()["slots"] == 2
    names = {p["name"] for p in get(f"{api}/pools")["pools"]}
    assert {"default_pool", "gpu"} <= names
