"""The pipeline pages in a real browser: DAG list with import errors, a finished DAG run
with its task logs, and a running DAG run whose page follows the run live.

The server subprocess shares its SQLite database with this test process, which records
DAGs and runs through trackflow.pipelines (the same operations the CLI and the scheduler use).
The DAG is kept paused, so the server's own scheduler leaves the runs made here alone (a
``dags test`` run executes in its own process whatever the pause state).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.store.sql.database import Database

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

DAGS = Path(__file__).resolve().parents[2] / "dags"
# `trackflow dags ...` in a fresh interpreter, registering the dags group if main does not yet.
BOOT = (
    "import sys; from trackflow.cli.main import COMMANDS, main; "
    "COMMANDS.setdefault('dags', 'trackflow.cli.dags:dags'); sys.exit(main(sys.argv[1:]))"
)


@dataclass
class PipelinesEnv:
    server: str
    ops: Pipelines
    dags_folder: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def pipelines_env(running_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PipelinesEnv]:
    root = tmp_path_factory.mktemp("ui-pipelines")
    dags = root / "dags"
    dags.mkdir()
    for name in ("taskflow_etl.py", "broken_import.py"):
        shutil.copy(DAGS / name, dags / name)
    uri = running_server.backend_store_uri
    settings = Settings(home=str(root / "home"), tracking_uri=uri, dags_folder=str(dags), parallelism=2)
    db = Database(uri)
    ops = Pipelines(settings, db)
    ops.sync_folder(str(dags))
    ops.set_paused("taskflow_etl", True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")}
    env.update({"TRACKFLOW_HOME": str(root / "home"), "TRACKFLOW_TRACKING_URI": uri, "TF_TEST_ENV": "ui"})
    try:
        yield PipelinesEnv(str(running_server), ops, dags, env)
    finally:
        db.dispose()


def test_dags_list_shows_paused_state_and_import_errors(page: Any, pipelines_env: PipelinesEnv) -> None:
    page.goto(pipelines_env.server + "/dags")
    row = page.locator("#dags tr", has_text="taskflow_etl")
    expect(row).to_contain_text("paused")
    expect(row).to_contain_text("@daily")
    errors = page.locator("#import-errors")
    expect(errors).to_contain_text("broken_import.py")
    errors.locator("summary").first.click()
    expect(errors.locator("pre")).to_contain_text("module_that_does_not_exist")
    pipelines_env.ops.set_paused("taskflow_etl", False)
    try:
        page.reload()
        expect(page.locator("#dags tr", has_text="taskflow_etl")).to_contain_text("active")
    finally:
        pipelines_env.ops.set_paused("taskflow_etl", True)


def test_finished_run_lists_task_instances_with_logs(page: Any, pipelines_env: PipelinesEnv) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BOOT, "dags", "test", "taskflow_etl", "--dags-folder", str(pipelines_env.dags_folder),
         "--logical-date", "2025-03-01"],
        capture_output=True, text=True, env=pipelines_env.env, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [run] = [r for r in pipelines_env.ops.list_runs("taskflow_etl")
             if r.run_type == "test" and r.logical_date.date() == date(2025, 3, 1)]

    page.goto(f"{pipelines_env.server}/dags/taskflow_etl")
    page.locator("#dag-runs").get_by_role("link", name=run.run_id).click()
    expect(page.locator("#run-state")).to_have_text("success")
    assert page.locator("main").get_attribute("data-live") is None  # finished: no polling
    rows = page.locator("#task-instances tbody tr")
    expect(rows).to_have_count(5)
    for task_id in ("extract", "transform", "load", "load_again", "report"):
        expect(page.locator(f"#task-instances tr[data-task-id={task_id}]")).to_contain_text("success")

    page.locator("#task-instances tr[data-task-id=report]").get_by_role("link", name="log").click()
    expect(page.locator("h1")).to_have_text("report log")
    expect(page.locator("pre.log")).to_contain_text("run 2025-03-01")


def test_running_run_page_follows_the_run_live(page: Any, pipelines_env: PipelinesEnv) -> None:
    ops = pipelines_env.ops
    run = ops.trigger("taskflow_etl", run_id="ui_live_run")
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if r.url.endswith(f"/runs/{run.run_id}") else None)
    page.goto(f"{pipelines_env.server}/dags/taskflow_etl/runs/{run.run_id}")
    assert page.locator("main").get_attribute("data-live") is not None
    expect(page.locator("#run-state")).to_have_text("queued")
    expect(page.locator("#task-instances tr[data-task-id=extract]")).to_contain_text("none")
    # while nothing changes, the polls are answered 304 (the page not sent again)
    deadline = time.monotonic() + 30
    while 304 not in polls and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    assert 304 in polls, polls

    # No reload from here on: the page's polling script must pick the changes up.
    ops.mark("taskflow_etl", run.run_id, ["extract"], "success")
    expect(page.locator("#task-instances tr[data-task-id=extract]")).to_contain_text("success")
    ops.store.update_dag_run("taskflow_etl", run.run_id, "failed", datetime.now(UTC))
    expect(page.locator("#run-state")).to_have_text("failed")
    expect(page.locator("main[data-live]")).to_have_count(0)  # polling stopped

    log = page.goto(f"{pipelines_env.server}/dags/taskflow_etl/runs/{run.run_id}/tasks/transform/log")
    assert log.status == 200
    expect(page.locator("#log")).to_contain_text("has not started yet")


def test_unknown_dag_run_and_task_get_404_pages(page: Any, pipelines_env: PipelinesEnv) -> None:
    run = pipelines_env.ops.trigger("taskflow_etl", run_id="ui_404_run")
    for path in ("/dags/no_such_dag", "/dags/taskflow_etl/runs/no_such_run",
                 f"/dags/taskflow_etl/runs/{run.run_id}/tasks/no_such_task/log"):
        answer = page.goto(pipelines_env.server + path)
        assert answer.status == 404, path
        expect(page.get_by_role("alert")).to_contain_text("no_such")
