"""Every page of the UI, generated from its routes, in a real browser: each is a complete HTML
page (language, title, one <h1>, a <main> landmark), loads without JavaScript errors, names every
control a keyboard reaches (and every image), and Tab walks through visible controls. A page
added to the UI without a way to reach it here makes this test fail."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from a11y import assert_keyboard_ready

import trackflow
from trackflow.entities.traces import SpanRecord, SpanStatus, TraceInfo, TraceState
from trackflow.registry.client import Client as RegistryClient
from trackflow.registry.prompts import Prompts
from trackflow.server.ui.views import router as pages

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG = "ui_showcase"
WAIT_LIMIT = 120.0  # a bound for a loaded machine, not a timing assertion
# Routes that are not pages of their own: "/" redirects to /experiments, an artifact is a file.
NOT_PAGES = {"/", "/runs/{run_id}/artifacts/{path:path}"}


@dataclass
class Seeded:
    server: str
    ids: dict[str, str]  # a value for each path parameter of a page route
    queries: dict[str, str]  # extra query strings for pages that need them


def _wait(check: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_LIMIT
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return found


def _tracking(server: str, tmp: Path) -> dict[str, str]:
    """An experiment with two runs (params, metrics, an artifact), an evaluation run, a trace,
    a registered model with a version, and a prompt."""
    client = trackflow.Client(server)
    suffix = uuid.uuid4().hex[:8]
    experiment_id = client.create_experiment(f"every-page-{suffix}")
    runs = []
    for i in range(2):
        run_id = client.create_run(experiment_id, run_name=f"r{i}").info.run_id
        client.log_param(run_id, "lr", str(0.1 * (i + 1)))
        for step in range(5):
            client.log_metric(run_id, "loss", 1.0 / (step + 1 + i), step=step)
        client.set_terminated(run_id)
        runs.append(run_id)
    (tmp / "notes.txt").write_text("hello")
    client.log_artifact(runs[0], tmp / "notes.txt")
    evaluation = client.create_run(experiment_id, run_name="eval").info.run_id
    (tmp / "eval_results_table.json").write_text(json.dumps(
        {"columns": ["inputs", "outputs", "score"], "data": [["a", "A", 1], ["b", "B", 0]]}))
    client.log_artifact(evaluation, tmp / "eval_results_table.json")

    store = client.trace_store()
    trace_id = "tr-" + uuid.uuid4().hex
    now_ns = time.time_ns()
    store.log_spans(experiment_id, [
        SpanRecord(trace_id, "00000000000000a1", None, "chat", now_ns, now_ns + 2_000_000, SpanStatus.OK,
                   attributes={"mlflow.spanInputs": '{"q": "hi"}', "mlflow.spanType": '"CHAIN"'}),
        SpanRecord(trace_id, "00000000000000a2", "00000000000000a1", "llm", now_ns + 100, now_ns + 1_000_000,
                   SpanStatus.OK, attributes={"mlflow.spanType": '"LLM"'})])
    store.start_trace(TraceInfo(trace_id, experiment_id, now_ns // 1_000_000, 2, TraceState.OK, '{"q": "hi"}',
                                '"hello"'), "")

    model = f"every-page-model-{suffix}"
    client.create_registered_model(model, description="for the page sweep")
    client.create_model_version(model, f"runs:/{runs[0]}/model", run_id=runs[0])
    prompt = f"every-page-prompt-{suffix}"
    Prompts(RegistryClient(server)).register(prompt, "Answer {{ question }}")
    return {"experiment_id": experiment_id, "run_id": runs[0], "compare": runs, "evaluation": evaluation,
            "trace_id": trace_id, "model": model, "prompt": prompt}  # type: ignore[dict-item]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, trackflow_server: Any) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp("every-page")
    dags = root / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "ui_showcase.py", dags / "ui_showcase.py")
    release = root / "release"
    release.touch()  # the showcase's waiting task ends at once
    with trackflow_server(root, env={"TF_UI_RELEASE": str(release)}, extra_args=("--dags-folder", str(dags))) as url:
        with httpx.Client(base_url=str(url), timeout=30) as api:
            _wait(lambda: api.get(f"/api/v1/dags/{DAG}").status_code == 200, "the showcase DAG parsed")
            api.post(f"/api/v1/dags/{DAG}/dagRuns", json={"run_id": "sweep", "conf": {}}).raise_for_status()
            api.patch(f"/api/v1/dags/{DAG}", json={"is_paused": False}).raise_for_status()
            _wait(lambda: api.get(f"/api/v1/dags/{DAG}/dagRuns/sweep").json()["state"] == "success", "the run")
            api.patch(f"/api/v1/dags/{DAG}", json={"is_paused": True}).raise_for_status()
            tracked = _tracking(str(url), root)
            compare = "&".join(f"runs={r}" for r in tracked.pop("compare"))
            evaluation = tracked.pop("evaluation")
            ids = {**tracked, "dag_id": DAG, "task_id": "finish", "name": tracked["model"], "version": "1"}
            yield Seeded(str(url), {**ids, "sweep_run": "sweep", "evaluation": evaluation},
                         {"/experiments/{experiment_id}/compare": compare})


def _page_url(route: str, seeded: Seeded) -> str:
    """The route filled in with the seeded objects (a DAG run's run_id is the DAG run, a
    prompt's name the prompt, an evaluation page the evaluation run)."""
    ids = dict(seeded.ids)
    if route.startswith("/dags/"):
        ids["run_id"] = ids["sweep_run"]
    if route.startswith("/prompts/"):
        ids["name"] = ids["prompt"]
    if route.endswith("/evaluation"):
        ids["run_id"] = ids["evaluation"]
    path = route.format(**ids)
    query = seeded.queries.get(route)
    return f"{path}?{query}" if query else path


PAGE_ROUTES = sorted(r.path for r in pages.routes if r.path not in NOT_PAGES)  # type: ignore[attr-defined]


@pytest.mark.parametrize("route", PAGE_ROUTES)
def test_page_is_complete_named_and_keyboard_ready(page: Any, seeded: Seeded, route: str) -> None:
    response = page.goto(seeded.server + _page_url(route, seeded))
    assert response is not None and response.status == 200, (route, response and response.status)
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title().strip().endswith("trackflow") and len(page.title()) > len(" · trackflow")
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("main")).to_have_count(1)
    assert_keyboard_ready(page)


def test_every_page_route_is_swept() -> None:
    """A new page route must be reachable by _page_url (else this fails naming it)."""
    seeded = Seeded("", {k: "x" for k in ("experiment_id", "run_id", "trace_id", "model", "prompt", "dag_id",
                                          "task_id", "name", "version", "sweep_run", "evaluation")}, {})
    for route in PAGE_ROUTES:
        _page_url(route, seeded)  # KeyError names a path parameter this sweep has no object for
