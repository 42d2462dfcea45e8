"""The links the MLflow client prints open trackflow's pages, in a real browser.

The official ``mlflow`` client (the pinned peer) makes a run against a trackflow server and
prints "View run <name> at: http://host:port/#/experiments/<id>/runs/<run_id>" and "View
experiment at: .../#/experiments/<id>": links into MLflow's single-page app, whose route is in
the URL fragment the browser never sends. Opened in Chromium, they must land on trackflow's run
and experiment pages; MLflow's ``#/models/<name>/versions/<v>`` links on the model version page.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

import trackflow
from peers import run_peer_script
from trackflow.server.ui.urls import Urls

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

SCRIPT = Path(__file__).parent / "scripts" / "print_view_links.py"
RUN_NAME = "view-links-run"


@pytest.fixture(scope="module")
def printed(running_server: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the MLflow client printed for a run it made against the trackflow server, with the
    experiment's name and the two links parsed out of the printed lines."""
    workdir = tmp_path_factory.mktemp("view-links")
    experiment_name = f"links-{uuid.uuid4().hex[:8]}"
    result = dict(run_peer_script(SCRIPT, str(running_server), experiment_name, RUN_NAME, cwd=workdir))
    text = "\n".join(result["printed"])
    run_link = re.search(rf"View run {RUN_NAME} at: (\S+)", text)
    experiment_link = re.search(r"View experiment at: (\S+)", text)
    assert run_link and experiment_link, f"the MLflow client printed no links: {text!r}"
    return {**result, "experiment_name": experiment_name, "run_link": run_link[1],
            "experiment_link": experiment_link[1]}


def test_the_mlflow_client_prints_links_into_its_single_page_app(running_server: str, printed: dict[str, Any]) -> None:
    experiment = f"{running_server}/#/experiments/{printed['experiment_id']}"
    assert printed["experiment_link"] == experiment
    assert printed["run_link"] == f"{experiment}/runs/{printed['run_id']}"


def test_view_run_link_opens_the_run_page(page: Any, running_server: str, printed: dict[str, Any]) -> None:
    page.goto(printed["run_link"])
    expect(page).to_have_url(running_server + Urls.run(printed["run_id"]))
    expect(page.locator("h1")).to_have_text(RUN_NAME)
    expect(page.locator("main")).to_contain_text("alpha")  # the param the MLflow client logged


def test_view_experiment_link_opens_the_experiment_page(
    page: Any, running_server: str, printed: dict[str, Any]
) -> None:
    page.goto(printed["experiment_link"])
    expect(page).to_have_url(running_server + Urls.experiment(printed["experiment_id"]))
    expect(page.locator("h1")).to_have_text(printed["experiment_name"])
    expect(page.locator("#runs tbody")).to_contain_text(RUN_NAME)


@pytest.mark.parametrize(
    ("fragment", "page_of"),
    [
        ("/runs/{run_id}/artifacts/model/MLmodel", "run"),
        ("/runs/{run_id}?workspace=default", "run"),
        ("/overview", "experiment"),
        ("/traces?workspace=team%20a", "experiment"),
    ],
    ids=["run-artifact", "run-workspace", "experiment-overview", "experiment-traces"],
)
def test_deeper_mlflow_routes_open_the_nearest_page(
    page: Any, running_server: str, printed: dict[str, Any], fragment: str, page_of: str
) -> None:
    page.goto(printed["experiment_link"] + fragment.format(run_id=printed["run_id"]))
    if page_of == "run":
        # an artifact's path goes on to the artifact browser, which opens it
        suffix = "#artifact=model%2FMLmodel" if "/artifacts/" in fragment else ""
        expect(page).to_have_url(running_server + Urls.run(printed["run_id"]) + suffix)
    else:
        expect(page).to_have_url(running_server + Urls.experiment(printed["experiment_id"]))


def test_model_links_open_the_model_pages(page: Any, running_server: str, printed: dict[str, Any]) -> None:
    client = trackflow.Client(running_server)
    name = f"links model {uuid.uuid4().hex[:6]}"  # a space: MLflow's UI encodes it in the fragment
    client.create_registered_model(name)
    version = client.create_model_version(name, f"runs:/{printed['run_id']}/model", run_id=printed["run_id"])
    page.goto(f"{running_server}/#/models/{quote(name, safe='')}/versions/{version.version}")
    expect(page).to_have_url(running_server + Urls.model_version(name, str(version.version)))
    expect(page.locator("h1")).to_have_text(f"{name} v{version.version}")
    page.goto(f"{running_server}/#/models/{quote(name, safe='')}")
    expect(page).to_have_url(running_server + Urls.model(name))
    expect(page.locator("h1")).to_have_text(name)


def test_other_fragments_are_left_alone(page: Any, running_server: str) -> None:
    page.goto(f"{running_server}/#/compare-runs?runs=[]")
    expect(page).to_have_url(f"{running_server}{Urls.experiments()}#/compare-runs?runs=[]")
    expect(page.locator("h1")).to_be_visible()
    page.goto(f"{running_server}{Urls.experiments()}#runs")
    expect(page).to_have_url(f"{running_server}{Urls.experiments()}#runs")
