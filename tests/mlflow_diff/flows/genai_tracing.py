"""User code, unchanged between servers: MLflow 3's GenAI tracing docs — @mlflow.trace and
mlflow.start_span (nested, with inputs, outputs, attributes, an exception), get_trace,
search_traces (pandas and list, filters, order, pages), trace tags, feedback and expectations
(log, get, update, override, delete, search by them), traces inside a run, mlflow.genai.evaluate
with code scorers, delete_traces.

    python genai_tracing.py EXPERIMENT    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import AssessmentSource, SpanType  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.genai.scorers import scorer  # noqa: E402

experiment = mlflow.set_experiment(sys.argv[1])
client = MlflowClient()
out = {}


@mlflow.trace(span_type=SpanType.CHAIN)
def answer(question, temperature=0.1):
    with mlflow.start_span(name="retrieve", span_type=SpanType.RETRIEVER) as span:
        span.set_inputs({"query": question})
        span.set_outputs([{"doc": "d1"}, {"doc": "d2"}])
        span.set_attributes({"k": 2, "index": "main", "score": 0.5, "flags": [True, False]})
    return llm(question.upper())


@mlflow.trace(name="llm_call", span_type=SpanType.LLM, attributes={"model": "stub-1"})
def llm(prompt):
    return {"text": prompt[::-1], "tokens": len(prompt)}


@mlflow.trace
def broken(x):
    raise ValueError(f"bad {x}")


answer("what is mlflow")
first = mlflow.get_last_active_trace_id()
time.sleep(0.01)  # traces in distinct milliseconds: their order by start time is then the same everywhere
answer("second question", temperature=0.7)
second = mlflow.get_last_active_trace_id()
time.sleep(0.01)
try:
    broken(3)
except ValueError:
    pass
failed = mlflow.get_last_active_trace_id()
mlflow.flush_trace_async_logging()  # traces are exported in the background by default


def span_view(span):
    return {
        "name": span.name,
        "type": span.span_type,
        "parent": None if span.parent_id is None else names[span.parent_id],
        "inputs": span.inputs,
        "outputs": span.outputs,
        "status": span.status.status_code.value,
        "attributes": {k: v for k, v in span.attributes.items() if not k.startswith("mlflow.")},
        "events": [e.name for e in span.events],
        "ends_after_start": span.end_time_ns >= span.start_time_ns,
    }


trace = mlflow.get_trace(first)
names = {s.span_id: s.name for s in trace.data.spans}
out["trace"] = {
    "state": trace.info.state.value,
    "name": trace.info.tags.get("mlflow.traceName"),
    "spans_location": trace.info.tags.get("mlflow.trace.spansLocation"),
    "request_preview": trace.info.request_preview,
    "response_preview": trace.info.response_preview,
    "has_duration": trace.info.execution_duration is not None,
    "spans": sorted((span_view(s) for s in trace.data.spans), key=lambda v: v["name"]),
    "request": trace.data.request,
    "response": trace.data.response,
}
bad = mlflow.get_trace(failed)
names = {s.span_id: s.name for s in bad.data.spans}
out["failed"] = {"state": bad.info.state.value, "spans": [span_view(s) for s in bad.data.spans]}

frame = mlflow.search_traces(locations=[experiment.experiment_id])
out["frame"] = {"columns": sorted(frame.columns), "rows": len(frame)}


def found(**kwargs):
    traces = mlflow.search_traces(locations=[experiment.experiment_id], return_type="list", **kwargs)
    return [{first: "first", second: "second", failed: "failed"}.get(t.info.trace_id, "other") for t in traces]


out["search"] = {
    "all": found(),
    "oldest first": found(order_by=["timestamp_ms ASC"]),
    "ok": found(filter_string="trace.status = 'OK'", order_by=["timestamp_ms ASC"]),
    "error": found(filter_string="attributes.status = 'ERROR'"),
    "name": found(filter_string="trace.name = 'answer'", order_by=["timestamp_ms ASC"]),
    "name like": found(filter_string="trace.name LIKE 'ans%'", order_by=["timestamp_ms ASC"]),
    "span name": found(filter_string="span.name = 'retrieve'", order_by=["timestamp_ms ASC"]),
    "span type": found(filter_string="span.type = 'LLM'", order_by=["timestamp_ms ASC"]),
    "slow": found(filter_string="trace.execution_time_ms > 100000"),
    "recent": found(filter_string="trace.timestamp_ms > 0", order_by=["timestamp_ms ASC"]),
    "metadata": found(filter_string="metadata.`mlflow.trace_schema.version` = '3'", order_by=["timestamp_ms ASC"]),
    "max 1": found(max_results=1),
}
page = client.search_traces(locations=[experiment.experiment_id], max_results=2, order_by=["timestamp_ms ASC"])
rest = client.search_traces(locations=[experiment.experiment_id], max_results=2, page_token=page.token,
                            order_by=["timestamp_ms ASC"])
out["pages"] = [len(page), bool(page.token), len(rest), rest.token]

mlflow.set_trace_tag(first, "reviewed", "yes")
client.set_trace_tag(second, "reviewed", "no")
out["tag search"] = found(filter_string="tags.reviewed = 'yes'")
mlflow.delete_trace_tag(second, "reviewed")
out["tags after delete"] = {k: v for k, v in mlflow.get_trace(second).info.tags.items() if not k.startswith("mlflow.")}
try:
    client.delete_trace_tag(second, "never-set")
    out["delete missing tag"] = "ok"
except MlflowException as e:
    out["delete missing tag"] = e.error_code

feedback = mlflow.log_feedback(trace_id=first, name="relevance", value=0.8, rationale="close",
                               source=AssessmentSource(source_type="LLM_JUDGE", source_id="judge-1"),
                               metadata={"round": "1"})
mlflow.log_feedback(trace_id=second, name="relevance", value=0.2)
expectation = mlflow.log_expectation(trace_id=first, name="expected", value={"text": "LFOLM"})
got = mlflow.get_assessment(first, feedback.assessment_id)
out["feedback"] = {"name": got.name, "value": got.value, "rationale": got.rationale,
                   "source": [got.source.source_type, got.source.source_id], "metadata": got.metadata,
                   "valid": got.valid}
updated = mlflow.update_assessment(first, feedback.assessment_id,
                                   mlflow.entities.Feedback(name="relevance", value=0.9))
out["updated"] = [updated.value, updated.name]
override = mlflow.override_feedback(trace_id=first, assessment_id=feedback.assessment_id, value=1.0,
                                    rationale="human says so")
assessments = {a.assessment_id: a for a in mlflow.get_trace(first).info.assessments}
out["override"] = {"old valid": assessments[feedback.assessment_id].valid,
                   "new": [assessments[override.assessment_id].value, assessments[override.assessment_id].valid,
                           assessments[override.assessment_id].overrides == feedback.assessment_id]}
out["expectation"] = mlflow.get_assessment(first, expectation.assessment_id).value
mlflow.delete_assessment(first, expectation.assessment_id)
out["assessments left"] = sorted(a.name for a in mlflow.get_trace(first).info.assessments)
try:
    mlflow.get_assessment(first, "a-00000000000000000000000000000000")
    out["missing assessment"] = "found"
except MlflowException as e:
    out["missing assessment"] = e.error_code

with mlflow.start_run() as run:
    answer("inside a run")
    in_run = mlflow.get_last_active_trace_id()
mlflow.flush_trace_async_logging()
out["run traces"] = [t == in_run for t in mlflow.search_traces(run_id=run.info.run_id, return_type="list") for t in
                     [t.info.trace_id]]
out["source run"] = mlflow.get_trace(in_run).info.trace_metadata.get("mlflow.sourceRun") == run.info.run_id


@scorer
def exact(outputs, expectations):
    return outputs["text"] == expectations["text"]


@scorer
def short(outputs):
    return outputs["tokens"] < 5


result = mlflow.genai.evaluate(
    data=[{"inputs": {"question": "abc"}, "expectations": {"text": "CBA"}},
          {"inputs": {"question": "hello"}, "expectations": {"text": "nope"}}],
    predict_fn=lambda question: llm(question.upper()),
    scorers=[exact, short],
)
out["evaluate"] = {k: float(v) for k, v in sorted(result.metrics.items())}
eval_traces = mlflow.search_traces(run_id=result.run_id, return_type="list")
out["evaluate traces"] = sorted(
    sorted((a.name, a.value) for a in t.info.assessments if a.name in ("exact", "short")) for t in eval_traces
)

greeting = mlflow.genai.register_prompt(name=f"greet_{experiment.experiment_id}", template="Hi {{name}}")
greeting_v2 = mlflow.genai.register_prompt(name=greeting.name, template="Hello {{name}}")
client.link_prompt_versions_to_trace([greeting, greeting_v2], first)
client.link_prompt_versions_to_trace([greeting], first)  # linked again: listed once
linked = json.loads(mlflow.get_trace(first).info.tags.get("mlflow.linkedPrompts", "[]"))
out["linked prompts"] = sorted((p["name"] == greeting.name, p["version"]) for p in linked)

try:
    client.get_trace("tr-00000000000000000000000000000000")
    out["missing trace"] = "found"
except MlflowException as e:
    out["missing trace"] = e.error_code
deleted = client.delete_traces(experiment_id=experiment.experiment_id, trace_ids=[failed])
out["deleted"] = [deleted, found(filter_string="trace.status = 'ERROR'")]
print(json.dumps(out, default=str, sort_keys=True))
