"""Differential tests of MLflow 3 tracing: the same client code and the same OTLP payloads
against a real ``mlflow server`` (3.17.2) and a real ``trackflow server``; outcomes must be equal."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import requests
from flow_helpers import FLOWS, run_flow, unique
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from peers import run_peer_script

pytestmark = pytest.mark.slow


def test_genai_tracing_flow(mlflow_server: str, running_server: str, tmp_path: Path) -> None:
    """Tracing, search, tags, assessments, run links and genai.evaluate from MLflow's client."""
    expected, actual = run_flow("genai_tracing.py", mlflow_server, running_server, tmp_path, unique("traces"))
    assert expected["trace"]["spans_location"] == "TRACKING_STORE"
    assert expected["search"]["span type"] == ["first", "second"] and expected["evaluate"]["exact/mean"] == 0.5
    assert actual == expected


def _experiment(base_url: str) -> str:
    response = requests.post(f"{base_url}/api/2.0/mlflow/experiments/create", json={"name": unique("otel")}, timeout=30)
    assert response.status_code == 200, response.text
    return str(response.json()["experiment_id"])


def _export_with_the_otel_sdk(base_url: str, experiment_id: str) -> str:
    """Spans made and exported by OpenTelemetry's own SDK and OTLP/HTTP exporter (protobuf)."""
    exporter = OTLPSpanExporter(endpoint=f"{base_url}/v1/traces", headers={"x-mlflow-experiment-id": experiment_id})
    provider = TracerProvider(resource=Resource.create({"service.name": "otel-app"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("handle", attributes={"http.route": "/ask", "retries": 2}) as root:
        with tracer.start_as_current_span("db") as db:
            db.set_attribute("rows", [1, 2, 3])
            db.add_event("query sent", {"sql": "select 1"})
        with tracer.start_as_current_span("fail") as fail:
            fail.set_status(Status(StatusCode.ERROR, "boom"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return "tr-" + trace_id


def _trace_view(base_url: str, trace_id: str) -> dict[str, Any]:
    response = requests.get(f"{base_url}/api/3.0/mlflow/traces/get", params={"trace_id": trace_id}, timeout=30)
    assert response.status_code == 200, response.text
    trace = response.json()["trace"]
    by_id = {s["span_id"]: s["name"] for s in trace["spans"]}

    def attributes(items: list[dict[str, Any]]) -> dict[str, Any]:
        return {a["key"]: a["value"] for a in items if not a["key"].startswith("mlflow.")}

    return {
        "state": trace["trace_info"]["state"],
        "name": trace["trace_info"].get("tags", {}).get("mlflow.traceName"),
        "spans": sorted(
            (
                {
                    "name": s["name"],
                    "parent": by_id.get(s.get("parent_span_id", "")),
                    "status": s.get("status", {}),
                    "attributes": attributes(s.get("attributes", [])),
                    "events": [[e["name"], attributes(e.get("attributes", []))] for e in s.get("events", [])],
                    "trace_id_ok": s["trace_id"] != "",
                }
                for s in trace["spans"]
            ),
            key=lambda v: v["name"],
        ),
    }


def test_opentelemetry_sdk_exporter(mlflow_server: str, running_server: str) -> None:
    views = []
    for url in (mlflow_server, running_server):
        views.append(_trace_view(url, _export_with_the_otel_sdk(url, _experiment(url))))
    expected, actual = views
    assert [s["name"] for s in expected["spans"]] == ["db", "fail", "handle"]
    assert actual == expected


def _otlp_json(trace_id: str, span_id: str) -> dict[str, Any]:
    return {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "js"}}]},
                               "scopeSpans": [{"scope": {"name": "manual"}, "spans": [{
                                   "traceId": trace_id, "spanId": span_id, "name": "json-root",
                                   "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000001000000000",
                                   "attributes": [{"key": "n", "value": {"intValue": "7"}},
                                                  {"key": "s", "value": {"stringValue": "x"}}],
                                   "status": {"code": 1}}]}]}]}


def test_otlp_json_payload(mlflow_server: str, running_server: str) -> None:
    """OTLP/HTTP's JSON encoding (hex ids), as a JavaScript or collector exporter sends it."""
    views = []
    for url in (mlflow_server, running_server):
        trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
        response = requests.post(f"{url}/v1/traces", json=_otlp_json(trace_id, span_id),
                                 headers={"x-mlflow-experiment-id": _experiment(url)}, timeout=30)
        assert response.status_code == 200, response.text
        views.append(_trace_view(url, "tr-" + trace_id))
    assert views[1] == views[0]
    assert views[0]["spans"][0]["attributes"] == {"n": {"int_value": 7}, "s": {"string_value": "x"}}


BAD_OTLP = {
    "text content type": ({"content-type": "text/plain"}, b"hello"),
    "broken protobuf": ({"content-type": "application/x-protobuf"}, b"\xff\xff\xff\x01garbage"),
    "broken json": ({"content-type": "application/json"}, b"{not json"),
    "no spans": ({"content-type": "application/json"}, json.dumps({"resourceSpans": []}).encode()),
}


@pytest.mark.parametrize("case", sorted(BAD_OTLP))
def test_bad_otlp_payloads_are_refused_alike(mlflow_server: str, running_server: str, case: str) -> None:
    headers, body = BAD_OTLP[case]
    statuses = []
    for url in (mlflow_server, running_server):
        response = requests.post(f"{url}/v1/traces", data=body,
                                 headers={**headers, "x-mlflow-experiment-id": _experiment(url)}, timeout=30)
        statuses.append(response.status_code // 100)
    assert statuses[1] == statuses[0] == 4


def test_trace_endpoints_refuse_bad_input_with_4xx(running_server: str) -> None:
    """Every malformed request gets a 4xx naming the problem, never a 5xx."""
    api = f"{running_server}/api/3.0/mlflow"
    experiment_id = _experiment(running_server)
    location = {"mlflow_experiment": {"experiment_id": experiment_id}}
    cases = [
        ("POST", "/traces", {"trace": {"trace_info": {"trace_id": "tr-1"}}}),
        ("POST", "/traces", {"trace": "nope"}),
        ("POST", "/traces", {"trace": {"trace_info": {"trace_id": "tr-1", "request_time": "yesterday",
                                                      "trace_location": location}}}),
        ("POST", "/traces/search", {"locations": [{"mlflow_experiment": {"experiment_id": experiment_id}}],
                                    "filter": "tags.x >> 1"}),
        ("POST", "/traces/search", {"locations": [{"mlflow_experiment": {"experiment_id": experiment_id}}],
                                    "filter": "span.color = 'red'"}),
        ("POST", "/traces/search", {"locations": [{"mlflow_experiment": {"experiment_id": experiment_id}}],
                                    "max_results": 100000}),
        ("POST", "/traces/search", {"locations": [{"mlflow_experiment": {"experiment_id": "abc"}}]}),
        ("POST", "/traces/search", {"locations": []}),
        ("GET", "/traces/tr-missing", None),
        ("GET", "/traces/get", None),
        ("POST", "/traces/tr-missing/assessments", {"assessment": {"assessment_name": "x", "feedback": {"value": 1}}}),
        ("POST", "/traces/delete-traces", {"experiment_id": experiment_id}),
        ("POST", "/traces/link-to-run", {"trace_ids": ["tr-missing"], "run_id": "0" * 32}),
    ]
    for method, path, body in cases:
        response = requests.request(method, f"{api}{path}", json=body, timeout=30)
        assert 400 <= response.status_code < 500, (method, path, body, response.status_code, response.text)
        assert response.json().get("message"), response.text
    response = requests.post(f"{running_server}/v1/traces", data=b"x", headers={"content-type": "application/json"},
                             timeout=30)
    assert response.status_code == 400 and "x-mlflow-experiment-id" in response.text


def test_version_names_the_mlflow_api(running_server: str) -> None:
    version = requests.get(f"{running_server}/version", timeout=10).text
    assert version.startswith("3.17.2+trackflow."), version



def test_mlflow_client_reads_traces_made_by_trackflow(running_server: str, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """One-sided: @trackflow.trace in remote mode, read back by the official client."""
    import trackflow
    from trackflow.tracking import backend, fluent

    monkeypatch.setattr(fluent, "_state", {**fluent._state, "client": None})
    monkeypatch.setattr(backend, "_default_tracking_uri", list(backend._default_tracking_uri))
    fluent.set_tracking_uri(running_server)
    experiment = fluent.set_experiment(unique("tf-traces"))

    @trackflow.trace(span_type="LLM")
    def generate(prompt: str) -> str:
        return prompt.upper()

    @trackflow.trace(span_type="CHAIN")
    def pipeline(question: str) -> str:
        return generate(f"q: {question}")

    pipeline("why")
    trace_id = trackflow.get_last_active_trace_id()
    assert trace_id is not None
    seen = run_peer_script(FLOWS / "read_trace.py", running_server, trace_id, experiment.experiment_id, cwd=tmp_path)
    assert seen == {
        "state": "OK",
        "spans": [["pipeline", None, "CHAIN", {"question": "why"}, "Q: WHY"],
                  ["generate", "pipeline", "LLM", {"prompt": "q: why"}, "Q: WHY"]],
        "request": '{"question": "why"}',
        "found": [True],
    }
