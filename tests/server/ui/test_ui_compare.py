"""Comparing runs in a real browser: select runs in the runs table, compare them side by side."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
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


# Form controls with no accessible name (no <label>, aria-label or aria-labelledby).
UNNAMED_CONTROLS_JS = """() => Array.from(document.querySelectorAll('input, select, button, textarea'))
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.textContent.trim()))
  .map((el) => el.outerHTML)"""


def shoot(page: Any, name: str) -> None:
    """Save the page for the README when screenshots are asked for (make screenshots)."""
    folder = os.environ.get("UI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@dataclass
class Compared:
    server: str
    experiment_id: str
    runs: dict[str, str]  # run name -> id
    other_run: str  # a run of another experiment


@pytest.fixture(scope="module")
def compared(running_server: Any) -> Compared:
    """Four runs with a differing and a shared param, two metrics with 200-step histories."""
    client = trackflow.Client(str(running_server))
    suffix = uuid.uuid4().hex[:8]
    experiment_id = client.create_experiment(f"compare-{suffix}")
    runs = {}
    for i, (name, lr) in enumerate([("r-small", "0.001"), ("r-mid", "0.01"), ("r-big", "0.1"), ("r-other", "0.5")]):
        run_id = client.create_run(experiment_id, run_name=name).info.run_id
        client.log_param(run_id, "lr", lr)
        client.log_param(run_id, "optimizer", "adam")
        history = [Metric("loss", (1 + i) / (s + 1), 1_700_000_000_000 + s, s) for s in range(200)]
        history += [Metric("acc", 0.5 + i / 10 + s / 1000, 1_700_000_000_000 + s, s) for s in range(200)]
        client.log_batch(run_id, metrics=history)
        client.set_terminated(run_id)
        runs[name] = run_id
    elsewhere = client.create_experiment(f"compare-elsewhere-{suffix}")
    other_run = client.create_run(elsewhere, run_name="stranger").info.run_id
    return Compared(str(running_server), experiment_id, runs, other_run)


def test_select_three_runs_and_compare_them(page: Any, compared: Compared) -> None:
    page.goto(f"{compared.server}/experiments/{compared.experiment_id}")
    # Keyboard: focus each box through its label and tick it with Space.
    for name in ("r-small", "r-mid", "r-big"):
        box = page.get_by_label(f"Select run {name}")
        box.focus()
        page.keyboard.press("Space")
        expect(box).to_be_checked()
    assert page.evaluate(UNNAMED_CONTROLS_JS) == []
    page.get_by_role("button", name="Compare selected runs").click()

    expect(page.locator("h1")).to_have_text("Compare 3 runs")
    assert page.url.count("runs=") == 3
    params = page.locator("#compare-params")
    lr = params.locator("tr[data-key=lr]")
    expect(lr).to_have_class("differs")
    expect(lr).to_contain_text("0.001")
    expect(lr).to_contain_text("0.1")
    expect(params.locator("tr[data-key=optimizer]")).not_to_have_class("differs")
    expect(params.locator("thead")).not_to_contain_text("r-other")
    expect(page.locator("#compare-metrics tr[data-key=loss]")).to_have_class("differs")

    # One overlaid chart per metric key, one series per run.
    for key in ("acc", "loss"):
        chart = page.locator(f"figure.compare-chart[data-metric={key}]")
        expect(chart).to_have_attribute("data-series", "3")
        expect(chart.locator(".u-legend")).to_contain_text("r-mid")
        expect(chart.locator(".u-axis").first).not_to_contain_text("1/1/70")  # steps, not dates

    # Zoom the loss chart: every run's history is fetched again for the dragged step range, in one request.
    loss = page.locator("figure.compare-chart[data-metric=loss]")
    over = loss.locator(".u-over")
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    zoomed: list[Any] = []
    page.on("response", lambda r: zoomed.append(r) if "metric-series" in r.url and "x_min=" in r.url else None)
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    expect(loss.locator(".chart-status")).to_contain_text("(zoomed)")
    assert len(zoomed) == 1 and "/compare/metric-series" in zoomed[0].url
    series = zoomed[0].json()["series"]
    assert len(series) == 3
    steps = [p[0] for p in series[0]["points"]]
    assert 50 < min(steps) and max(steps) < 199, (min(steps), max(steps))
    loss.get_by_role("button", name="Reset zoom of loss").click()
    expect(loss.locator(".chart-status")).not_to_contain_text("(zoomed)")

    # Scatter of two chosen dimensions, and one parallel-coordinates line per run.
    expect(page.locator("#compare-plots")).to_have_attribute("data-ready", "true")
    page.get_by_label("Scatter x axis").select_option("param: lr")
    page.get_by_label("Scatter y axis").select_option("metric: loss")
    expect(page.locator("#scatter-plot circle.scatter-point")).to_have_count(3)
    scatter = page.get_by_role("img", name="Scatter plot of metric: loss against param: lr")
    expect(scatter).to_be_visible()
    expect(page.locator("#parallel-plot polyline.parallel-line")).to_have_count(3)
    expect(page.locator("#parallel-plot")).to_contain_text("param: lr")
    assert page.evaluate(UNNAMED_CONTROLS_JS) == []
    shoot(page, "compare")

    page.get_by_role("link", name="r-big").first.click()
    expect(page.locator("h1")).to_have_text("r-big")


def test_compare_json_twin_shares_the_data(compared: Compared) -> None:
    ids = [compared.runs["r-small"], compared.runs["r-big"]]
    answer = requests.get(f"{compared.server}/api/v1/ui/experiments/{compared.experiment_id}/compare",
                          params={"runs": ids}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [r["run_id"] for r in body["runs"]] == ids
    lr = next(p for p in body["params"] if p["key"] == "lr")
    assert lr == {"key": "lr", "values": ["0.001", "0.1"], "differs": True}
    assert body["chart_keys"] == ["acc", "loss"]


def test_compare_refusals_are_shown(page: Any, compared: Compared) -> None:
    base = f"{compared.server}/experiments/{compared.experiment_id}/compare"
    one = compared.runs["r-small"]
    cases = [
        ([one], 400, "between 2 and 50 runs, got 1"),
        ([one, "no-such-run"], 404, "no-such-run"),
        ([one, compared.other_run], 400, f"run {compared.other_run} belongs to experiment"),
        ([f"r{i}" for i in range(51)], 400, "got 51"),
    ]
    for runs, status, message in cases:
        api = requests.get(f"{compared.server}/api/v1/ui/experiments/{compared.experiment_id}/compare",
                           params={"runs": runs}, timeout=30)
        assert api.status_code in ((status, 422) if len(runs) > 50 else (status,)), api.text
        answer = page.goto(base + "?" + "&".join(f"runs={r}" for r in runs))
        assert answer.status == status
        expect(page.get_by_role("alert")).to_contain_text(message)

    # Ticking one box only and submitting shows the refusal too.
    page.goto(f"{compared.server}/experiments/{compared.experiment_id}")
    page.get_by_label("Select run r-mid").check()
    page.get_by_role("button", name="Compare selected runs").click()
    expect(page.get_by_role("alert")).to_contain_text("between 2 and 50 runs, got 1")


def test_compare_series_of_all_runs_in_one_request(compared: Compared) -> None:
    url = f"{compared.server}/api/v1/ui/experiments/{compared.experiment_id}/compare/metric-series"
    ids = [compared.runs[n] for n in ("r-big", "r-small", "r-mid")]
    answer = requests.get(url, params={"key": "loss", "runs": ids, "max_points": 20, "x_min": 10, "x_max": 109},
                          timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [s["run_id"] for s in body["series"]] == ids  # in the order asked for
    for series, i in zip(body["series"], (2, 0, 1), strict=True):
        assert series["total_points"] == 200 and len(series["points"]) == 20  # 10 buckets: lowest and highest
        # a falling curve: each bucket of 10 steps keeps its last (lowest) and first (highest) step
        assert series["points"][:2] == [[10, (1 + i) / 11], [19, (1 + i) / 20]]
    absent = requests.get(url, params={"key": "no-such-metric", "runs": ids[:2]}, timeout=30).json()
    assert absent["series"] == []

    cases = [
        ([ids[0]], 400, "between 2 and 50 runs, got 1"),
        ([ids[0], "no-such-run"], 404, "no-such-run"),
        ([ids[0], compared.other_run], 400, f"run {compared.other_run} belongs to experiment"),
    ]
    for runs, status, message in cases:
        refused = requests.get(url, params={"key": "loss", "runs": runs}, timeout=30)
        assert refused.status_code == status and message in refused.text, refused.text
    reversed_range = requests.get(url, params={"key": "loss", "runs": ids, "x_min": 5, "x_max": 1}, timeout=30)
    assert reversed_range.status_code == 400 and "x_min" in reversed_range.text
