"""The Airflow users' pages in a real browser, acting through the UI: DAG list (pause switch,
recent-run squares, next run, import errors), trigger with conf (JSON-schema errors from the
server shown at the field), the grid (DAG order, mapped rows, keyboard), the task panel (tries
with their tracked runs, the live log, clear and mark through /api/v1), the graph (collapsible
task groups, live colours), the Gantt chart, the code view and the offline API docs.

One ``trackflow server --dags-folder`` for the module, whose own scheduler and local executor
run the DAG: what the pages show is checked against /api/v1, and what the pages do is read back
through it. With UI_SCREENSHOTS=DIR (``make screenshots``) the main pages are saved
there as PNG files for the README.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a11y import assert_keyboard_ready

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG = "ui_showcase"
WAIT_LIMIT = 90.0  # a bound for a loaded machine, not a timing assertion


def wait_for(check: Callable[[], object], what: str, limit: float = WAIT_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@dataclass
class UiServer:
    server: str
    api: httpx.Client
    release: Path  # the showcase's wait_and_log task ends once this file exists

    def dag(self) -> dict[str, Any]:
        return self.api.get(f"/api/v1/dags/{DAG}").raise_for_status().json()

    def run(self, run_id: str) -> dict[str, Any]:
        return self.api.get(f"/api/v1/dags/{DAG}/dagRuns/{run_id}").raise_for_status().json()

    def ti(self, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        return next(t for t in self.run(run_id)["task_instances"]
                    if t["task_id"] == task_id and t["map_index"] == map_index)


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, trackflow_server: Any) -> Iterator[UiServer]:
    root = tmp_path_factory.mktemp("ui-actions")
    dags = root / "dags"
    dags.mkdir()
    for name in ("ui_showcase.py", "broken_import.py"):
        shutil.copy(DAGS / name, dags / name)
    release = root / "release"
    with trackflow_server(root, env={"TF_UI_RELEASE": str(release)},
                                extra_args=("--dags-folder", str(dags))) as url:
        with httpx.Client(base_url=str(url), timeout=30) as api:
            wait_for(lambda: api.get(f"/api/v1/dags/{DAG}").status_code == 200, "the showcase DAG parsed")
            yield UiServer(str(url), api, release)


def shoot(page: Any, name: str) -> None:
    """Save the page for the README when screenshots are asked for (make screenshots)."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def trigger_api(ui: UiServer, run_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"run_id": run_id, "conf": conf or {}}
    return ui.api.post(f"/api/v1/dags/{DAG}/dagRuns", json=body).raise_for_status().json()


def test_dag_list_pause_switch_recent_runs_next_run_and_import_errors(page: Any, ui: UiServer) -> None:
    assert ui.dag()["is_paused"] is True  # is_paused_upon_creation
    trigger_api(ui, "list_run_1")
    trigger_api(ui, "list_run_2")
    page.goto(ui.server + "/dags")
    row = page.locator("#dags tr[data-dag-id=ui_showcase]")
    squares = row.locator("a.sq")
    expect(squares).to_have_count(2)
    expect(squares.first).to_have_attribute("aria-label", "run list_run_1: queued")  # oldest first
    expect(row.locator("td").nth(4)).to_contain_text("(due once unpaused)")  # today's daily run, not made yet
    expect(page.locator("#import-errors")).to_contain_text("broken_import.py")
    assert_keyboard_ready(page)

    switch = page.get_by_role("switch", name="Active (unpaused): ui_showcase")
    expect(switch).not_to_be_checked()
    switch.focus()
    page.keyboard.press("Space")  # the switch is reachable and usable from the keyboard
    expect(row.locator(".switch-text")).to_have_text("active")
    assert ui.dag()["is_paused"] is False
    switch.click()
    expect(row.locator(".switch-text")).to_have_text("paused")
    assert ui.dag()["is_paused"] is True
    page.reload()
    expect(page.get_by_role("switch", name="Active (unpaused): ui_showcase")).not_to_be_checked()


def test_trigger_form_from_params_shows_server_validation_inline(page: Any, ui: UiServer) -> None:
    page.goto(f"{ui.server}/dags/{DAG}/trigger")
    count = page.get_by_label("count")
    expect(count).to_have_value("3")  # the param's default
    expect(page.get_by_label("mode")).to_have_value('"fast"')
    assert_keyboard_ready(page)
    shoot(page, "trigger")

    count.fill("50")  # the schema says maximum 10: the server refuses, naming the param
    page.get_by_label("Run id").fill("ui_form_run")
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator(".field[data-param=count] .field-error")).to_contain_text("count")
    expect(count).to_have_attribute("aria-invalid", "true")
    assert ui.api.get(f"/api/v1/dags/{DAG}/dagRuns/ui_form_run").status_code == 404  # nothing stored

    page.get_by_label("label").fill("x")  # minLength 2, also refused by the server
    count.fill("4")
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator(".field[data-param=label] .field-error")).to_contain_text("label")
    expect(count).not_to_have_attribute("aria-invalid", "true")

    page.get_by_label("label").fill("from the form")
    page.get_by_label("mode").select_option('"thorough"')
    page.get_by_label("dry_run").check()
    extra = page.get_by_label("Conf as JSON")
    extra.fill("[1, 2]")  # not an object: refused before anything is sent
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator("#trigger-extra-conf-error")).to_contain_text("JSON object")
    extra.fill('{"note": "extra key", "dry_run": false}')  # extra keys pass through; it overrides fields
    page.get_by_role("button", name="Trigger").click()
    page.wait_for_url(f"**/dags/{DAG}/grid")
    run = ui.run("ui_form_run")
    assert run["conf"] == {"count": 4, "mode": "thorough", "label": "from the form", "dry_run": False,
                           "note": "extra key"}
    assert run["run_type"] == "manual"


def test_grid_panel_live_log_mark_and_clear(page: Any, ui: UiServer) -> None:
    ui.api.patch(f"/api/v1/dags/{DAG}", json={"is_paused": False}).raise_for_status()
    try:
        trigger_api(ui, "grid_run", {"count": 3})
        _grid_run(page, ui)
    finally:
        ui.release.touch()
        ui.api.patch(f"/api/v1/dags/{DAG}", json={"is_paused": True})


def _grid_run(page: Any, ui: UiServer) -> None:
    page.goto(f"{ui.server}/dags/{DAG}/grid")
    order = [t["task_id"] for t in ui.dag()["tasks"]]
    assert order != sorted(order)  # DAG order is not the alphabetical one
    rows = page.locator("#task-grid > tbody:not(.map-rows) > tr")
    expect(rows).to_have_count(len(order))
    assert [rows.nth(i).get_attribute("data-task-id") for i in range(len(order))] == order

    column = [r["run_id"] for r in ui.api.get(f"/api/v1/ui/dags/{DAG}/grid").json()["runs"]].index("grid_run")
    cell = page.locator(f"#task-grid tr[data-task-id=wait_and_log] a.cell >> nth={column}")
    expect(cell).to_have_class("cell state-running")  # the page follows the run without reloads
    cell.click()
    panel = page.locator("#side-panel #task-panel")
    expect(panel.locator("h2")).to_have_text("wait_and_log")
    log = panel.locator("#task-log")
    expect(log).to_contain_text("waiting line 3")
    expect(log).to_contain_text("waiting line 12")  # still streaming into the same page
    ti = ui.ti("grid_run", "wait_and_log")
    expect(panel.locator("tr[data-try='1'] a", has_text=ti["tracking_run_id"])).to_have_attribute(
        "href", f"/runs/{ti['tracking_run_id']}")
    assert_keyboard_ready(page)  # the grid and the task panel opened beside it
    shoot(page, "grid")

    ui.release.touch()
    expect(log).to_contain_text("released")
    expect(panel.locator("#task-state")).to_have_text("success")

    # The mapped task: its row shows how many indexes, and expands into one row per index.
    square = page.locator(f"#task-grid tr[data-task-id=square] a.cell >> nth={column}")
    expect(square).to_have_text("3")
    page.get_by_role("button", name="Show map indexes of square").click()
    grid = ui.api.get(f"/api/v1/ui/dags/{DAG}/grid").json()
    [square_row] = [r for r in grid["rows"] if r["task_id"] == "square"]
    assert square_row["cells"][column]["mapped_count"] == 3
    # as many rows as the run with most indexes has (ui_form_run maps over 4 when it ran too)
    expect(page.locator("#task-grid tbody.map-rows tr")).to_have_count(len(square_row["map_rows"]))
    expect(page.locator("#task-grid tr[data-task-id='square[2]'] a.cell").nth(column)).to_have_class(
        "cell state-success")

    # A mapped task's panel lists its map indexes; each opens its own panel.
    square.click()
    expect(panel.locator("h2")).to_have_text("square")
    panel.get_by_role("link", name="[1]").click()
    expect(panel.locator("h2")).to_have_text("square[1]")
    expect(panel.locator("#task-state")).to_have_text("success")

    # Keyboard: arrows move between cells, Enter opens the focused one in the panel.
    cell.focus()
    page.keyboard.press("ArrowDown")
    below = order[order.index("wait_and_log") + 1]
    assert below in page.evaluate("document.activeElement.getAttribute('aria-label')")
    page.keyboard.press("Enter")
    expect(panel.locator("h2")).to_have_text(below)

    wait_for(lambda: ui.run("grid_run")["state"] == "success", "grid_run finished")
    page.locator(f"#task-grid tr[data-task-id=finish] a.cell >> nth={column}").click()
    expect(panel.locator("h2")).to_have_text("finish")
    panel.get_by_role("button", name="Mark failed").click()
    expect(panel.locator(".action-status")).to_contain_text("Marked failed: finish")
    assert ui.ti("grid_run", "finish")["state"] == "failed"
    expect(page.locator(f"#task-grid tr[data-task-id=finish] a.cell >> nth={column}")).to_have_class(
        "cell state-failed")

    # Clear with upstream: finish and everything it depends on run again (second tries).
    panel.get_by_label("with upstream").check()
    panel.get_by_role("button", name="Clear").click()
    expect(panel.locator(".action-status")).to_contain_text("Cleared: finish")
    wait_for(lambda: ui.ti("grid_run", "wait_and_log")["try_number"] == 2
             and ui.run("grid_run")["state"] == "success", "grid_run ran again after the clear")
    assert ui.ti("grid_run", "finish")["state"] == "success"
    page.locator(f"#task-grid tr[data-task-id=wait_and_log] a.cell >> nth={column}").click()
    expect(panel.locator("h2")).to_have_text("wait_and_log")
    expect(panel.locator("table.tries tbody tr")).to_have_count(2)
    tracked = panel.get_by_role("link", name="tracked run of try 2")
    expect(tracked).to_have_attribute("href", f"/runs/{ui.ti('grid_run', 'wait_and_log')['tracking_run_id']}")

    page.goto(f"{ui.server}/dags/{DAG}/runs/grid_run/gantt")  # both tries' run: real durations
    expect(page.locator("table.gantt tr[data-task-id=wait_and_log] a.gbar")).to_have_class("gbar state-success")
    shoot(page, "gantt")
    page.goto(f"{ui.server}/dags")  # now with runs of every colour
    expect(page.locator("#dags tr[data-dag-id=ui_showcase] a.sq.state-success").first).to_be_visible()
    shoot(page, "dags")


def test_graph_collapses_groups_and_follows_the_run(page: Any, ui: UiServer) -> None:
    trigger_api(ui, "graph_run")  # the DAG is paused: the run stays queued until marked
    page.goto(f"{ui.server}/dags/{DAG}/graph?run_id=graph_run")
    graph = page.locator("#graph svg")
    expect(graph.locator("[data-task-id='prepare.clean']")).to_have_count(1)
    expect(graph.locator("[data-task-id=start]")).to_have_class("node state-none")
    assert_keyboard_ready(page)
    shoot(page, "graph")

    group = graph.locator("[data-group=prepare]")
    group.focus()
    page.keyboard.press("Enter")
    expect(graph.locator("[data-task-id='prepare.clean']")).to_have_count(0)
    collapsed = graph.locator(".group-node[data-group=prepare]")
    expect(collapsed).to_have_attribute("aria-expanded", "false")
    expect(collapsed).to_contain_text("prepare (2)")
    page.keyboard.press("Enter")  # focus stays on the group: Enter again expands it
    expect(graph.locator("[data-task-id='prepare.checks.schema']")).to_have_count(1)

    # No reload: the page polls the run while it is unfinished and recolours the nodes.
    ui.api.patch(f"/api/v1/dags/{DAG}/dagRuns/graph_run/taskInstances/start",
                 json={"state": "success"}).raise_for_status()
    expect(graph.locator("[data-task-id=start]")).to_have_class("node state-success")


def test_gantt_code_and_offline_api_docs(page: Any, ui: UiServer) -> None:
    trigger_api(ui, "gantt_run")  # paused DAG: only what is marked here has times
    for task_id, state in (("start", "success"), ("prepare.clean", "failed")):
        ui.api.patch(f"/api/v1/dags/{DAG}/dagRuns/gantt_run/taskInstances/{task_id}",
                     json={"state": state}).raise_for_status()
    page.goto(f"{ui.server}/dags/{DAG}/runs/gantt_run/gantt")
    bars = page.locator("table.gantt a.gbar")
    expect(bars).to_have_count(2)
    expect(page.locator("table.gantt tr[data-task-id='prepare.clean'] a.gbar")).to_have_class("gbar state-failed")
    expect(page.locator("#gantt")).to_contain_text("Not started: items")
    assert_keyboard_ready(page)

    page.goto(f"{ui.server}/dags/{DAG}/code")
    expect(page.locator("#dag-code")).to_contain_text('"ui_showcase"')
    expect(page.get_by_role("link", name="Code")).to_have_attribute("aria-current", "page")
    assert_keyboard_ready(page)

    # Offline: any request leaving this server fails the test.
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(ui.server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    refused: list[str] = []  # what the pages' Content-Security-Policy kept from leaving
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{ui.server}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("trackflow", timeout=60_000)
    tag = page.locator(".swagger-ui .opblock-tag", has_text="pipelines")  # tags start collapsed
    tag.click()
    expect(page.locator(".swagger-ui .opblock-summary-path", has_text="/api/v1/dags/{dag_id}/dagRuns").first
           ).to_be_visible(timeout=30_000)
    page.goto(f"{ui.server}/api/v1/redoc")
    # ReDoc parses the whole document in the browser before drawing: slow on a loaded machine
    expect(page.locator("h1", has_text="trackflow")).to_be_visible(timeout=60_000)
    expect(page.locator("text=Something went wrong")).to_have_count(0)
    assert outside == []
    assert all("cdn.redoc.ly" in text for text in refused), refused  # only ReDoc's "powered by" logo


def test_model_version_links_to_the_task_that_made_it_and_back(page: Any, ui: UiServer) -> None:
    tracked = ui.ti("grid_run", "finish")["tracking_run_id"]  # the task's tracked run (tagged with its task)
    ui.api.post("/api/v1/registered-models", json={"name": "ui-showcase-model"}).raise_for_status()
    version = ui.api.post("/api/v1/registered-models/ui-showcase-model/versions",
                          json={"source": f"runs:/{tracked}/model", "run_id": tracked}).raise_for_status().json()
    number = version.get("version") or version["model_version"]["version"]
    page.goto(f"{ui.server}/models/ui-showcase-model/versions/{number}")
    page.locator("#made-by-task").click()
    expect(page.locator("#task-panel h2")).to_have_text("finish")
    assert_keyboard_ready(page)  # the task panel as a page of its own
    back = page.get_by_role("link", name=f"ui-showcase-model v{number}")
    expect(back).to_be_visible()
    back.click()
    expect(page.locator("h1")).to_have_text(f"ui-showcase-model v{number}")


def test_markup_in_a_run_id_stays_text(page: Any, ui: UiServer) -> None:
    evil = '<img src=x onerror="window.pwned=1">"\'&<!--'
    trigger_api(ui, evil)
    slash = ui.api.post(f"/api/v1/dags/{DAG}/dagRuns", json={"run_id": "a/b"})
    assert slash.status_code == 400 and "'/'" in slash.json()["message"]  # unreachable in URLs: refused
    for path in (f"/dags/{DAG}/grid", f"/dags/{DAG}/graph", "/dags"):
        page.goto(ui.server + path)
        assert page.evaluate("window.pwned") is None, path
    page.goto(f"{ui.server}/dags/{DAG}/graph")
    expect(page.locator("#graph-run option").first).to_have_text(f"{evil} (queued)")
    expect(page.locator("#graph svg [data-task-id=start]")).to_have_count(1)  # its JSON parsed
    page.goto(f"{ui.server}/dags/{DAG}/grid")
    cell = page.locator("#task-grid tr[data-task-id=start] a.cell").last
    cell.click()
    expect(page.locator("#task-panel dl")).to_contain_text(evil)


def test_bad_input_to_the_new_pages_is_a_4xx_page(page: Any, ui: UiServer) -> None:
    for path, status in ((f"/dags/{DAG}/grid?limit=0", 400), (f"/dags/{DAG}/grid?offset=-1", 400),
                         ("/dags/no_such_dag/graph", 404), (f"/dags/{DAG}/graph?run_id=no_such_run", 404),
                         (f"/dags/{DAG}/runs/grid_run/tasks/no_such_task", 404),
                         (f"/dags/{DAG}/runs/grid_run/tasks/start?map_index=-2", 400),
                         (f"/dags/{DAG}/runs/no_such_run/gantt", 404)):
        answer = page.goto(ui.server + path)
        assert answer.status == status, path
        expect(page.get_by_role("alert")).not_to_be_empty()
    assert ui.api.get(f"/api/v1/ui/dags/{DAG}/grid", params={"limit": 1000}).status_code == 400
    assert ui.api.get(f"/api/v1/dags/{DAG}/dagRuns/grid_run/taskInstances/start/logs",
                      params={"offset": -1}).status_code == 400
