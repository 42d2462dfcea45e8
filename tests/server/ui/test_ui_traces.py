"""The trace pages (issue 13 part 7) in a real browser against a real server: the traces of an
experiment (filter, sort, errors shown inline), a trace's span tree with timings, inputs,
outputs and attributes, spans paged, and the links between runs and their traces."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
import requests

import trackflow
from trackflow.entities.traces import SpanRecord, SpanStatus

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

WIDE_SPANS = 450  # more than one page of spans (200)


@dataclass
class Traced:
    server: str
    experiment_id: str
    run_id: str
    chat: str
    failed: str
    wide: str


@pytest.fixture(scope="module")
def traced(running_server: Any) -> Traced:
    """Traces made by trackflow's client over HTTP: one inside a run, one that failed, and a
    wide one of 450 spans sent over OTLP."""
    from trackflow.tracking import backend, fluent

    saved_state, saved_uri = dict(fluent._state), list(backend._default_tracking_uri)
    fluent.set_tracking_uri(str(running_server))
    try:
        experiment = fluent.set_experiment(f"ui-traces-{uuid.uuid4().hex[:8]}")

        @trackflow.trace(span_type="LLM")
        def generate(prompt: str) -> str:
            return prompt.upper()

        @trackflow.trace(span_type="CHAIN")
        def chat(question: str) -> str:
            with trackflow.start_span("retrieve", span_type="RETRIEVER") as span:
                span.set_inputs({"query": question})
                span.set_outputs(["<doc>"])
                span.set_attribute("index", "main")
            return generate(question)

        with fluent.start_run() as run:
            chat("what is <b>trackflow</b>?")
        chat_id = trackflow.get_last_active_trace_id()

        @trackflow.trace
        def broken() -> None:
            raise RuntimeError("model offline")

        with pytest.raises(RuntimeError):
            broken()
        failed_id = trackflow.get_last_active_trace_id()
        wide_id, start = "tr-" + uuid.uuid4().hex, time.time_ns() + 1_000_000_000  # the newest trace
        root = SpanRecord(wide_id, "0" * 15 + "1", None, "fan-out", start, start + WIDE_SPANS * 1000, SpanStatus.OK)
        children = [SpanRecord(wide_id, f"{i + 2:016x}", root.span_id, f"tool-{i:03d}", start + i * 1000,
                               start + i * 1000 + 500, SpanStatus.OK) for i in range(WIDE_SPANS - 1)]
        fluent.get_client().trace_store().log_spans(experiment.experiment_id, [root, *children])
        return Traced(str(running_server), experiment.experiment_id, run.info.run_id, chat_id or "", failed_id or "",
                      wide_id)
    finally:
        fluent._state.update(saved_state)
        fluent._state["client"] = None
        backend._default_tracking_uri[:] = saved_uri


def test_the_traces_list_filters_sorts_and_shows_errors_inline(page: Any, traced: Traced) -> None:
    page.goto(f"{traced.server}/experiments/{traced.experiment_id}")
    page.get_by_role("link", name="Traces").click()
    rows = page.locator("#traces tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(traced.wide)  # newest first
    page.get_by_label("Filter").fill("trace.status = 'ERROR'")
    page.get_by_label("Filter").press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("broken")
    page.get_by_label("Filter").fill("span.type = 'LLM'")
    page.get_by_label("Sort").select_option("slowest")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("chat")
    page.get_by_label("Filter").fill("span.colour = 'red'")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#search-error")).to_contain_text("span.colour")


def test_a_trace_shows_its_span_tree_with_inputs_and_links_to_its_run(page: Any, traced: Traced) -> None:
    page.goto(f"{traced.server}/runs/{traced.run_id}")
    page.locator("#run-traces").click()
    page.get_by_role("link", name=traced.chat).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("chat")
    spans = page.locator("#spans > li")
    expect(spans).to_have_count(3)
    expect(spans.nth(1)).to_have_attribute("style", "--depth: 1")
    retrieve = spans.nth(1).locator("summary")
    expect(retrieve).to_contain_text("RETRIEVER")
    retrieve.focus()
    page.keyboard.press("Enter")  # a span's details open from the keyboard
    expect(spans.nth(1)).to_contain_text('"query": "what is <b>trackflow</b>?"')  # escaped, shown as text
    expect(spans.nth(1)).to_contain_text('"main"')
    page.get_by_role("link", name=traced.run_id).click()
    expect(page.locator("#run-info")).to_contain_text(traced.run_id)


def test_a_failed_trace_and_a_wide_trace_paged(page: Any, traced: Traced) -> None:
    page.goto(f"{traced.server}/traces/{traced.failed}")
    expect(page.locator("#trace-info")).to_contain_text("ERROR")
    page.locator("#spans summary").first.click()
    expect(page.locator("#spans")).to_contain_text("model offline")
    page.goto(f"{traced.server}/traces/{traced.wide}")
    expect(page.locator("#span-total")).to_have_text(str(WIDE_SPANS))
    expect(page.locator("#spans > li")).to_have_count(200)
    page.locator("#next-spans").click()
    expect(page.locator("#spans > li").first).to_contain_text("tool-199")
    page.locator("#next-spans").click()
    expect(page.locator("#spans > li")).to_have_count(WIDE_SPANS - 400)
    expect(page.locator("#next-spans")).to_have_count(0)


def test_the_json_twins_answer_what_the_pages_show(traced: Traced) -> None:
    listed = requests.get(f"{traced.server}/api/v1/ui/experiments/{traced.experiment_id}/traces",
                          params={"filter": "trace.status = 'OK'", "order": "oldest"}, timeout=30)
    assert listed.status_code == 200
    assert [t["trace_id"] for t in listed.json()["traces"]] == [traced.chat, traced.wide]
    bad = requests.get(f"{traced.server}/api/v1/ui/experiments/{traced.experiment_id}/traces",
                       params={"order": "sideways"}, timeout=30)
    assert bad.status_code == 400 and "sideways" in bad.json()["message"]
    one = requests.get(f"{traced.server}/api/v1/ui/traces/{traced.wide}", params={"offset": 400, "limit": 100},
                       timeout=30).json()
    assert one["total_spans"] == WIDE_SPANS and len(one["spans"]) == WIDE_SPANS - 400
    assert requests.get(f"{traced.server}/api/v1/ui/traces/tr-nope", timeout=30).status_code == 404
    assert requests.get(f"{traced.server}/traces/tr-nope", timeout=30).status_code == 404


def test_prompts_list_their_versions_and_leave_the_models_page(page: Any, traced: Traced) -> None:
    from trackflow.registry.prompts import Prompts

    prompts = Prompts(trackflow.Client(traced.server))
    name = f"support-{uuid.uuid4().hex[:6]}"
    prompts.register(name, "Answer {{ question }} in <b>one</b> word", commit_message="first")
    prompts.register(name, [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "{{ question }}"}])
    prompts.set_alias(name, "champion", 1)
    page.goto(f"{traced.server}/models")
    expect(page.locator("body")).not_to_contain_text(name)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prompts").click()
    page.get_by_role("link", name=name).click()
    expect(page.locator("#versions > li")).to_have_count(2)
    first = page.locator("#v1")
    expect(first).to_contain_text("@champion")
    expect(first.locator("pre")).to_have_text("Answer {{ question }} in <b>one</b> word")  # shown as text
    expect(page.locator("#v2")).to_contain_text("Be brief")
    listed = requests.get(f"{traced.server}/api/v1/ui/prompts/{name}", timeout=30).json()
    assert [v["version"] for v in listed["versions"]] == [2, 1]
    assert requests.get(f"{traced.server}/api/v1/ui/prompts/no-such-prompt", timeout=30).status_code == 404


def test_an_evaluation_run_shows_its_rows(page: Any, traced: Traced) -> None:
    from trackflow.evaluation import scorers
    from trackflow.tracking import backend, fluent

    saved_state, saved_uri = dict(fluent._state), list(backend._default_tracking_uri)
    fluent.set_tracking_uri(traced.server)
    try:
        fluent.set_experiment(f"ui-eval-{uuid.uuid4().hex[:8]}")
        result = trackflow.evaluate(lambda q: q.upper(), [{"inputs": {"q": "a"}, "expectations": "A"},
                                                          {"inputs": {"q": "<i>b</i>"}, "expectations": "x"}],
                                    [scorers.exact_match()])
    finally:
        fluent._state.update(saved_state)
        fluent._state["client"] = None
        backend._default_tracking_uri[:] = saved_uri
    page.goto(f"{traced.server}/runs/{result.run_id}")
    page.locator("#evaluation-link").click()
    expect(page.locator("#evaluation-metrics")).to_contain_text("exact_match/mean")
    rows = page.locator("#evaluation-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("<I>B</I>")  # outputs shown as text
    assert requests.get(f"{traced.server}/api/v1/ui/runs/{traced.run_id}/evaluation", timeout=30).status_code == 404
