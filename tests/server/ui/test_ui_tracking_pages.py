"""The tracking and registry pages in a real browser, against a real server subprocess."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

import trackflow
from trackflow.entities import Metric

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

HISTORY_POINTS = 20_000
MAX_SERVED_POINTS = 500


@dataclass
class Tracked:
    server: str
    experiment_id: str
    experiment_name: str
    alpha: str
    beta: str
    child: str
    model_name: str


@pytest.fixture(scope="module")
def tracked(running_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Tracked:
    """An experiment with two runs (one with a 20,000-point metric, artifacts and a child run)
    and a registered model whose version comes from the first run, logged over HTTP."""
    client = trackflow.Client(str(running_server))
    suffix = uuid.uuid4().hex[:8]
    name = f"ui-exp-{suffix}"
    experiment_id = client.create_experiment(name)

    alpha = client.create_run(experiment_id, run_name="alpha").info.run_id
    client.log_param(alpha, "model", "lr")
    client.log_param(alpha, "C", "1.0")
    client.log_metric(alpha, "acc", 0.95)
    client.set_tag(alpha, "note", "<b>not bold</b>")
    start = int(time.time() * 1000)
    history = [Metric("loss", 1.0 / (i + 1), start + i, i) for i in range(HISTORY_POINTS)]
    for i in range(0, HISTORY_POINTS, 1000):
        client.log_batch(alpha, metrics=history[i : i + 1000])
    files = tmp_path_factory.mktemp("artifacts")
    (files / "notes.txt").write_text("hello from alpha")
    (files / "plots").mkdir()
    (files / "plots" / "curve.csv").write_text("step,loss\n0,1.0\n")
    client.log_artifact(alpha, files / "notes.txt")
    client.log_artifacts(alpha, files / "plots", artifact_path="plots")
    client.set_terminated(alpha)

    beta = client.create_run(experiment_id, run_name="beta").info.run_id
    client.log_param(beta, "model", "tree")
    client.log_metric(beta, "acc", 0.5)
    client.set_terminated(beta)

    child = client.create_run(experiment_id, run_name="alpha-child", tags={"mlflow.parentRunId": alpha}).info.run_id

    model_name = f"ui-model-{suffix}"
    client.create_registered_model(model_name, description="a model for the UI test")
    client.create_model_version(model_name, f"runs:/{alpha}/model", run_id=alpha)
    client.set_registered_model_alias(model_name, "champion", 1)
    return Tracked(str(running_server), experiment_id, name, alpha, beta, child, model_name)


def test_home_redirects_to_experiments_with_run_counts(page: Any, tracked: Tracked) -> None:
    page.goto(tracked.server + "/")
    assert page.url.endswith("/experiments")
    row = page.locator("#experiments tr", has_text=tracked.experiment_name)
    expect(row).to_contain_text(tracked.experiment_id)
    expect(row).to_contain_text("3 runs")
    row.get_by_role("link", name=tracked.experiment_name).click()
    expect(page.locator("h1")).to_have_text(tracked.experiment_name)


def test_runs_table_has_lazy_columns_and_filters(page: Any, tracked: Tracked) -> None:
    page.goto(f"{tracked.server}/experiments/{tracked.experiment_id}")
    table = page.locator("#runs")
    headers = table.locator("thead tr").nth(1).inner_text()
    assert {"acc", "loss", "model", "C"} <= set(headers.split())
    expect(table.locator("tbody tr")).to_have_count(3)

    page.fill("input[name=filter]", "metrics.acc > 0.9 and params.model = 'lr'")
    page.locator("form.search button[type=submit]").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator("tbody")).to_contain_text("alpha")
    assert "filter=metrics.acc" in page.url

    page.fill("input[name=filter]", "")
    page.fill("input[name=order_by]", "metrics.acc ASC")
    page.locator("form.search button[type=submit]").click()
    expect(table.locator("tbody tr").first).to_contain_text("beta")


def test_child_runs_collapse_under_their_parent(page: Any, tracked: Tracked) -> None:
    page.goto(f"{tracked.server}/experiments/{tracked.experiment_id}")
    table = page.locator("#runs")
    child = table.locator(f"tr[data-run-id='{tracked.child}']")
    expect(child).to_be_hidden()  # collapsed at first
    rows = table.locator("tbody tr")
    ids = [rows.nth(i).get_attribute("data-run-id") for i in range(rows.count())]
    assert ids.index(tracked.child) == ids.index(tracked.alpha) + 1  # listed right under its parent

    toggle = table.get_by_role("button", name="Show the 1 child run(s) of alpha")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(child).to_be_visible()
    hide = table.get_by_role("button", name="Hide the 1 child run(s) of alpha")
    expect(hide).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Enter")
    expect(child).to_be_hidden()

    body = requests.get(f"{tracked.server}/api/v1/ui/experiments/{tracked.experiment_id}", timeout=30).json()
    by_id = {r["run_id"]: r for r in body["runs"]}
    assert by_id[tracked.child]["depth"] == 1 and by_id[tracked.alpha]["children_on_page"] == 1


def test_column_chooser_hides_columns_and_remembers(page: Any, tracked: Tracked) -> None:
    url = f"{tracked.server}/experiments/{tracked.experiment_id}"
    page.goto(url)
    table = page.locator("#runs")
    chooser = page.locator("#column-chooser")
    chooser.locator("summary").focus()
    page.keyboard.press("Enter")  # opens the <details>
    model = page.get_by_label("param model")
    model.focus()
    page.keyboard.press("Space")
    expect(model).not_to_be_checked()
    expect(table.locator("th[data-col='p:model']")).to_be_hidden()
    expect(table.locator("td[data-col='p:model']").first).to_be_hidden()
    expect(table.locator("th[data-col='p:C']")).to_be_visible()
    expect(table.locator("th[data-group=p]")).to_have_attribute("colspan", "1")

    page.reload()  # remembered in this browser
    expect(table.locator("th[data-col='p:model']")).to_be_hidden()
    page.locator("#column-chooser summary").click()
    page.get_by_label("param model").check()
    expect(table.locator("th[data-col='p:model']")).to_be_visible()
    expect(table.locator("th[data-group=p]")).to_have_attribute("colspan", "2")


def test_invalid_filter_is_shown_inline_not_a_500(page: Any, tracked: Tracked) -> None:
    page.goto(f"{tracked.server}/experiments/{tracked.experiment_id}")
    page.fill("input[name=filter]", "metrics.acc >>> oops")
    with page.expect_response(lambda r: "/experiments/" in r.url) as answer:
        page.locator("form.search button[type=submit]").click()
    assert answer.value.status == 400
    expect(page.locator("#search-error")).to_contain_text("metrics.acc >>> oops")
    expect(page.locator("input[name=filter]")).to_have_value("metrics.acc >>> oops")
    expect(page.locator("#runs")).to_have_count(0)

    page.goto(f"{tracked.server}/experiments/{tracked.experiment_id}?order_by=nonsense+SIDEWAYS")
    expect(page.locator("#search-error")).to_be_visible()


def _served_line_points(html: str, metric: str) -> list[int]:
    """Coordinate pairs of each line path in the chart of ``metric`` in the served HTML."""
    start = html.index(f'data-metric="{metric}"')
    figure = html[start : html.index("</figure>", start)]
    paths = re.findall(r'<path d="([^"]+)"[^>]*class="line reactive', figure)
    return [len(re.findall(r"-?[\d.]+ -?[\d.]+", d)) for d in paths]


def test_run_page_shows_downsampled_charts_artifacts_and_children(page: Any, tracked: Tracked) -> None:
    url = f"{tracked.server}/runs/{tracked.alpha}"
    page.goto(url)
    expect(page.locator("h1")).to_have_text("alpha")
    expect(page.locator("#params")).to_contain_text("lr")
    expect(page.locator("#tags")).to_contain_text("<b>not bold</b>")  # escaped, shown as text
    expect(page.locator("#tags b")).to_have_count(0)

    loss = page.locator("figure[data-metric=loss]")
    expect(loss.locator("canvas")).to_have_count(1)  # the script replaced the served SVG
    assert int(loss.get_attribute("data-total-points")) == HISTORY_POINTS
    assert int(loss.get_attribute("data-points")) <= MAX_SERVED_POINTS
    expect(page.locator("figure[data-metric=acc] canvas")).to_have_count(1)

    html = requests.get(url, timeout=30).text
    counts = _served_line_points(html, "loss")
    assert len(counts) == 1 and 2 < counts[0] <= MAX_SERVED_POINTS, counts
    assert len(html) < 500_000  # nowhere near a 20,000-point payload

    artifacts = page.locator("#artifacts")
    expect(artifacts).to_contain_text("plots/")
    link = artifacts.get_by_role("link", name="notes.txt", exact=True)
    download = requests.get(tracked.server + link.get_attribute("href"), timeout=30)
    assert download.status_code == 200 and download.text == "hello from alpha"
    artifacts.get_by_role("treeitem", name="plots").click()  # listed when opened
    expect(artifacts.get_by_role("treeitem", name="curve.csv")).to_be_visible()

    page.locator("#children").get_by_role("link", name="alpha-child").click()
    expect(page.locator("h1")).to_have_text("alpha-child")
    page.locator("#run-info").get_by_role("link", name=tracked.alpha).click()
    expect(page.locator("h1")).to_have_text("alpha")


def test_metric_series_api_shares_the_downsampling(tracked: Tracked) -> None:
    answer = requests.get(
        f"{tracked.server}/api/v1/ui/runs/{tracked.alpha}/metric-series", params={"key": "loss"}, timeout=30
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["total_points"] == HISTORY_POINTS and len(body["points"]) <= MAX_SERVED_POINTS
    bad = requests.get(f"{tracked.server}/api/v1/ui/experiments/{tracked.experiment_id}",
                       params={"filter": "metrics.acc >>> oops"}, timeout=30)
    assert bad.status_code == 400 and "oops" in bad.json()["message"]


def test_chart_zoom_refetches_the_range_and_log_scale_and_axes_toggle(page: Any, tracked: Tracked) -> None:
    page.goto(f"{tracked.server}/runs/{tracked.alpha}")
    loss = page.locator("figure[data-metric=loss]")
    expect(loss).to_have_attribute("data-plotted", re.compile(r"\d+"))
    expect(loss.locator(".chart-static")).to_have_count(0)
    expect(loss.locator(".chart-status")).to_contain_text(f"of {HISTORY_POINTS} values plotted")

    # Hover shows the value under the cursor in the legend.
    over = loss.locator(".u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] / 2)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    expect(loss.locator(".u-legend .u-series").nth(1).locator(".u-value")).not_to_have_text("--")

    # Drag over the middle fifth: the series is fetched again for that step range only.
    with page.expect_response(lambda r: "metric-series" in r.url and "x_min=" in r.url) as answer:
        page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2, steps=5)
        page.mouse.up()
    zoomed = answer.value.json()
    xs = [p[0] for p in zoomed["points"]]
    assert 0 < min(xs) and max(xs) < HISTORY_POINTS - 1 and max(xs) - min(xs) < HISTORY_POINTS / 3, (min(xs), max(xs))
    # A range of ~4,000 steps downsampled to 500 points: denser than the full view's 40 steps apart.
    assert 2 < len(xs) <= MAX_SERVED_POINTS and (max(xs) - min(xs)) / len(xs) < HISTORY_POINTS / MAX_SERVED_POINTS
    expect(loss).to_have_attribute("data-x-min", re.compile(r"\d"))
    expect(loss.locator(".chart-status")).to_contain_text("(zoomed)")
    reset = loss.get_by_role("button", name="Reset zoom")
    expect(reset).to_be_enabled()

    # Log scale from the keyboard, through its label.
    log = loss.get_by_label("Log scale for loss")
    log.focus()
    page.keyboard.press("Space")
    expect(log).to_be_checked()
    expect(loss).to_have_attribute("data-log", "true")

    with page.expect_response(lambda r: "metric-series" in r.url and "x_min=" not in r.url):
        reset.click()
    expect(loss).not_to_have_attribute("data-x-min", re.compile(".*"))

    with page.expect_response(lambda r: "metric-series" in r.url and "x=relative" in r.url):
        loss.get_by_label("X axis of loss").select_option("relative")
    expect(loss).to_have_attribute("data-x-axis", "relative")
    loss.get_by_label("Smoothing of loss").fill("0.9")
    expect(loss.locator(".u-legend")).to_contain_text("loss (smoothed)")
    unnamed = page.evaluate("""() => Array.from(document.querySelectorAll('figure input, figure select'))
      .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')).length""")
    assert unnamed == 0
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        loss.screenshot(path=os.path.join(folder, "run-chart.png"))


@pytest.mark.parametrize(
    ("params", "message"),
    [({"x": "sideways"}, "x"), ({"x_min": "10", "x_max": "5"}, "x_min"), ({"x_min": "1e300"}, "x_min")],
)
def test_metric_series_rejects_bad_ranges(tracked: Tracked, params: dict[str, str], message: str) -> None:
    answer = requests.get(f"{tracked.server}/api/v1/ui/runs/{tracked.alpha}/metric-series",
                          params={"key": "loss", **params}, timeout=30)
    assert answer.status_code in (400, 422) and message in answer.text, answer.text


def test_metric_series_range_cuts_before_downsampling(tracked: Tracked) -> None:
    answer = requests.get(f"{tracked.server}/api/v1/ui/runs/{tracked.alpha}/metric-series",
                          params={"key": "loss", "x_min": "100", "x_max": "199"}, timeout=30)
    assert answer.status_code == 200
    assert [p[0] for p in answer.json()["points"]] == [float(i) for i in range(100, 200)]


@pytest.mark.parametrize(
    ("path", "message"),
    [("/runs/no-such-run", "no-such-run"), ("/experiments/987654321", "987654321"),
     ("/models/no-such-model", "no-such-model")],
)
def test_unknown_ids_get_a_404_page(page: Any, tracked: Tracked, path: str, message: str) -> None:
    answer = page.goto(tracked.server + path)
    assert answer.status == 404
    assert "text/html" in answer.headers["content-type"]
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.get_by_role("alert")).to_contain_text(message)


def test_registry_pages_link_versions_to_runs(page: Any, tracked: Tracked) -> None:
    page.goto(f"{tracked.server}/models")
    row = page.locator("#models tr", has_text=tracked.model_name)
    expect(row).to_contain_text("@champion")
    row.get_by_role("link", name=tracked.model_name).click()
    expect(page.locator("#versions tbody tr")).to_have_count(1)
    expect(page.locator("#versions")).to_contain_text("@champion")
    page.locator("#versions").get_by_role("link", name="v1").click()
    expect(page.locator("h1")).to_have_text(f"{tracked.model_name} v1")
    page.locator("#version-info").get_by_role("link", name="alpha").click()
    expect(page.locator("h1")).to_have_text("alpha")


def test_static_css_is_served(tracked: Tracked) -> None:
    css = requests.get(f"{tracked.server}/static/ui/trackflow.css", timeout=30)
    assert css.status_code == 200 and "table.grid" in css.text
