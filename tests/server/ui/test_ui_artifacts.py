"""The run page's artifact browser in Chromium against a real server: expand the tree with the
keyboard, preview each kind of file, download one and compare its bytes, and check that an HTML
artifact's script does not run. With UI_SCREENSHOTS=DIR (make screenshots) the browser is saved."""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from artifact_fixtures import CONFIG, SCRIPT_MARKER, log_sklearn_model, save_sklearn_model, write_tree

import trackflow

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)


@dataclass
class Browsed:
    server: str
    run_id: str
    files: Path  # the local copies of the logged files


@pytest.fixture(scope="module")
def browsed(running_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Browsed:
    client = trackflow.Client(str(running_server))
    experiment_id = client.create_experiment(f"artifact-ui-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id, run_name="browse-me").info.run_id
    files = write_tree(tmp_path_factory.mktemp("files"))
    client.log_artifacts(run_id, files)
    client.log_artifacts(run_id, save_sklearn_model(tmp_path_factory.mktemp("m") / "model"), artifact_path="model")
    log_sklearn_model(str(running_server), run_id, name="classifier")
    return Browsed(str(running_server), run_id, files)


def item(page: Any, name: str) -> Any:
    return page.locator("#artifact-tree").get_by_role("treeitem", name=name, exact=True)


def test_keyboard_expands_the_tree_and_previews_each_kind(page: Any, browsed: Browsed) -> None:
    page.goto(f"{browsed.server}/runs/{browsed.run_id}")
    title = page.title()
    tree = page.get_by_role("tree", name="Artifacts of this run")
    preview = page.locator("#artifact-preview")
    expect(item(page, "deeper")).to_have_count(0)  # nothing below the root is listed yet

    # The tree is one tab stop (its first item); Right opens a directory, listed only then.
    assert page.locator('#artifact-tree [role="treeitem"][tabindex="0"]').count() == 1
    page.locator("#run-traces").focus()  # the last link before the Artifacts section
    page.keyboard.press("Tab")
    expect(item(page, "config")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(item(page, "config")).to_have_attribute("aria-expanded", "true")
    expect(item(page, "params.json")).to_be_visible()
    page.keyboard.press("ArrowRight")  # into the first child
    page.keyboard.press("ArrowDown")
    expect(item(page, "params.json")).to_be_focused()
    page.keyboard.press("Enter")
    expect(item(page, "params.json")).to_have_attribute("aria-selected", "true")
    expect(preview.locator("pre[data-kind=json]")).to_have_text(json.dumps(CONFIG, indent=2, ensure_ascii=False))

    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(preview.locator("pre[data-kind=yaml]")).to_contain_text("warmup: 100")

    # Left goes back to the parent, Left again closes it.
    page.keyboard.press("ArrowLeft")
    expect(item(page, "config")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(item(page, "config")).to_have_attribute("aria-expanded", "false")
    expect(item(page, "params.json")).to_be_hidden()

    # data/nested/deeper/notes.txt: three levels down, each listed when opened.
    page.keyboard.press("ArrowDown")
    expect(item(page, "data")).to_be_focused()
    for name, first_child in (("data", "nested"), ("nested", "deeper"), ("deeper", "notes.txt")):
        page.keyboard.press("ArrowRight")
        expect(item(page, name)).to_have_attribute("aria-expanded", "true")
        expect(item(page, first_child)).to_be_visible()  # listed by the server on opening
        page.keyboard.press("ArrowRight")
        expect(item(page, first_child)).to_be_focused()
    expect(item(page, "notes.txt")).to_be_focused()
    assert item(page, "notes.txt").get_attribute("aria-level") == "4"
    page.keyboard.press("Enter")
    expect(preview.locator("pre[data-kind=text]")).to_have_text("deep notes\n")

    item(page, "metrics.csv").click()
    table = preview.locator("table")
    expect(table.locator("thead th")).to_have_text(["step", "loss", "label"])
    expect(table.locator("tbody tr")).to_have_count(100)
    expect(table.locator("caption")).to_contain_text("First 100 rows")

    item(page, "frame.parquet").click()
    expect(preview.locator("table caption")).to_have_text("First 100 rows of 250")
    expect(preview.locator("table tbody tr").nth(3)).to_have_text("30.3t3")

    item(page, "plots").click()
    item(page, "curve.png").click()
    image = preview.get_by_role("img", name="Preview of plots/curve.png")
    expect(image).to_be_visible()
    page.wait_for_function("() => document.querySelector('#artifact-preview img')?.naturalWidth === 4")
    item(page, "shape.svg").click()
    page.wait_for_function("() => document.querySelector('#artifact-preview img')?.naturalWidth === 10")

    item(page, "weights.bin").click()
    expect(preview.locator("#preview-message")).to_have_text("No preview for this file type.")

    # The model directory shows its flavors and its signature.
    item(page, "model").click()
    summary = preview.locator("#model-summary")
    expect(summary).to_contain_text("sklearn")
    expect(summary).to_contain_text("python_function")
    inputs = summary.get_by_role("table", name="Signature inputs")
    expect(inputs.locator("tbody tr")).to_have_count(2)
    expect(inputs.locator("tbody tr").first).to_have_text("sepal_lengthdoubleyes")
    expect(summary.get_by_role("table", name="Signature outputs")).to_contain_text("long")
    shoot(page, "run-artifacts")

    # HTML: shown in a sandboxed frame; its script neither runs there nor reaches this page.
    item(page, "report.html").click()
    frame = preview.locator("iframe")
    expect(frame).to_have_attribute("sandbox", "")
    expect(page.frame_locator("#artifact-preview iframe").locator("#marker")).to_have_text(SCRIPT_MARKER)
    assert page.evaluate("() => window.artifactScriptRan === undefined && window.svgRan === undefined")
    assert page.title() == title
    expect(tree).to_be_visible()


def test_a_model_logged_with_log_model_is_a_root_of_the_tree(page: Any, browsed: Browsed) -> None:
    page.goto(f"{browsed.server}/runs/{browsed.run_id}")
    root = item(page, "classifier (logged model)")
    item(page, "config").focus()
    page.keyboard.press("End")  # the logged models come after the run's own files
    expect(root).to_be_focused()
    page.keyboard.press("Enter")
    expect(root).to_have_attribute("aria-expanded", "true")
    summary = page.locator("#artifact-preview #model-summary")
    expect(page.locator("#preview-title")).to_have_text("classifier (logged model)")
    expect(summary.get_by_role("table", name="Signature inputs").locator("tbody tr")).to_have_count(2)
    expect(item(page, "MLmodel")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(item(page, "MLmodel")).to_be_focused()
    for _ in range(10):  # down through the model's files (their set depends on the flavor)
        if page.evaluate("() => document.activeElement.dataset.path") == "requirements.txt":
            break
        page.keyboard.press("ArrowDown")
    expect(item(page, "requirements.txt")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#artifact-preview pre[data-kind=text]")).to_contain_text("scikit-learn")
    with page.expect_download() as caught:
        page.locator("#preview-download").click()
    assert b"scikit-learn" in Path(caught.value.path()).read_bytes()


def test_links_name_one_artifact_and_open_it(page: Any, browsed: Browsed) -> None:
    page.goto(f"{browsed.server}/runs/{browsed.run_id}#artifact=data%2Fnested%2Fdeeper%2Fnotes.txt")
    expect(item(page, "notes.txt")).to_have_attribute("aria-selected", "true")
    expect(item(page, "notes.txt")).to_be_focused()
    expect(page.locator("#artifact-preview pre[data-kind=text]")).to_have_text("deep notes\n")

    item(page, "config").click()  # selecting names the selection in the URL
    item(page, "settings.yaml").click()
    assert page.url.endswith(f"/runs/{browsed.run_id}#artifact=config%2Fsettings.yaml")
    page.reload()
    expect(page.locator("#artifact-preview pre[data-kind=yaml]")).to_contain_text("warmup: 100")

    # MLflow's UI link to an artifact, as its users have them bookmarked
    experiment_id = trackflow.Client(browsed.server).get_run(browsed.run_id).info.experiment_id
    page.goto(f"{browsed.server}/#/experiments/{experiment_id}/runs/{browsed.run_id}/artifacts/config/params.json")
    expect(page.locator("#artifact-preview pre[data-kind=json]")).to_contain_text('"lr": 0.01')

    # and a logged model's file
    item(page, "classifier (logged model)").click()
    item(page, "MLmodel").click()
    page.reload()
    expect(page.locator("#artifact-preview #model-summary")).to_contain_text("python_function")
    assert "model_id=m-" in page.url


def test_download_link_gives_the_stored_bytes(page: Any, browsed: Browsed) -> None:
    page.goto(f"{browsed.server}/runs/{browsed.run_id}")
    item(page, "plots").click()
    item(page, "curve.png").click()
    with page.expect_download() as caught:
        page.locator("#preview-download").click()
    download = caught.value
    assert download.suggested_filename == "curve.png"
    assert Path(download.path()).read_bytes() == (browsed.files / "plots" / "curve.png").read_bytes()

    # the tree's own download link, for a file with no preview
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download weights.bin").click()
    assert Path(caught.value.path()).read_bytes() == (browsed.files / "weights.bin").read_bytes()


def test_a_bad_path_shows_an_error_in_the_pane(page: Any, browsed: Browsed) -> None:
    page.goto(f"{browsed.server}/runs/{browsed.run_id}")
    item(page, "big.log").click()
    expect(page.locator("#artifact-preview")).to_contain_text("Only the beginning of the file is shown.")
    answer = page.request.get(f"{browsed.server}/api/v1/ui/runs/{browsed.run_id}/artifacts/preview?path=../x")
    assert answer.status == 400


def shoot(page: Any, name: str) -> None:
    """Save the artifact browser for the README when screenshots are asked for (make screenshots)."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.locator("#artifacts").screenshot(path=str(Path(folder) / f"{name}.png"))
