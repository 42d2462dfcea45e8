"""`GET /health` of a real `trackflow server`: the database, the scheduler thread and the
local executor's helper process, each checked for real; 503 names what failed."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import requests

LIMIT = 60.0  # generous bound for a loaded machine, not a timing assertion
JSON = {"Accept": "application/json"}


def _health(url: str) -> requests.Response:
    return requests.get(f"{url}/health", headers=JSON, timeout=10)


def _wait_for_status(url: str, status: int, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + LIMIT
    while True:
        answer = _health(url)
        if answer.status_code == status:
            return dict(answer.json())
        assert time.monotonic() < deadline, f"{what}: /health still answers {answer.status_code} {answer.text}"
        time.sleep(0.2)


def test_health_follows_the_scheduler_and_the_executor(trackflow_server: Any, tmp_path: Path) -> None:
    with trackflow_server(tmp_path) as url:
        report = _wait_for_status(url, 200, "a new server")
        assert report["ok"] and report["failing"] == []
        assert report["database"] == {"ok": True}
        scheduler, executor = report["scheduler"], report["executor"]
        assert scheduler["running"] and scheduler["holds_lease"] and scheduler["ok"]
        assert scheduler["seconds_since_tick"] is not None and scheduler["seconds_since_tick"] < 30
        assert executor["started"] and executor["helper_alive"] and executor["running_tasks"] == 0
        assert requests.get(f"{url}/health", timeout=10).text == "OK"  # plain text for probes

        # Every tick fails while a table it reads is gone: the scheduler part fails, then heals.
        db = url.backend_store_uri.removeprefix("sqlite:///")
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE pl_dag_runs RENAME TO pl_dag_runs_away")
        report = _wait_for_status(url, 503, "ticks failing")
        assert [f.split(":")[0] for f in report["failing"]] == ["scheduler"], report
        assert "ticks failed" in report["scheduler"]["reason"] and "pl_dag_runs" in report["scheduler"]["last_error"]
        plain = requests.get(f"{url}/health", timeout=10)
        assert plain.status_code == 503 and plain.text.startswith("UNHEALTHY: scheduler: ")
        with sqlite3.connect(db) as conn:
            conn.execute("ALTER TABLE pl_dag_runs_away RENAME TO pl_dag_runs")
        _wait_for_status(url, 200, "ticks succeeding again")

        # The local executor's helper process ("zygote") dies: the executor part fails.
        os.kill(executor["helper_pid"], signal.SIGKILL)
        report = _wait_for_status(url, 503, "the executor helper killed")
        assert [f.split(":")[0] for f in report["failing"]] == ["executor"], report
        assert report["executor"]["helper_alive"] is False
        assert "helper process exited" in report["executor"]["reason"]
