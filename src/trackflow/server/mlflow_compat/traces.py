"""MLflow 3's trace endpoints (``traces/...``) and OTLP span ingest (``POST /v1/traces``).

The official client (3.17.2) logs a trace by exporting its spans over OTLP with the
``x-mlflow-experiment-id`` header, then StartTraceV3 with the trace's info; reads go through
GetTraceInfoV3, GetTrace, BatchGetTraces and SearchTracesV3; feedback and expectations are
assessments. Paths, JSON shapes and errors follow MLflow 3.17.2's server
(tests/mlflow_diff/test_traces.py runs the same client scenarios against both).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from starlette.concurrency import run_in_threadpool

from trackflow.entities.traces import Assessment, SpanRecord, SpanStatus, TraceInfo, TraceState, decoded
from trackflow.errors import InvalidInput
from trackflow.server.mlflow_compat.codec import as_int, as_list, as_str, required
from trackflow.server.mlflow_compat.routes import add_endpoint
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.store.sql.trace_store import SqlTraceStore
from trackflow.tracing.otlp import any_value_json, decode_request

router = APIRouter()  # mounted under /api/{2.0,3.0}/mlflow and /ajax-api/{2.0,3.0}/mlflow
otlp_router = APIRouter()  # POST /v1/traces
EXPERIMENT_HEADER, RUN_HEADER = "x-mlflow-experiment-id", "x-mlflow-run-id"
_SOURCE_TYPES = frozenset({"HUMAN", "LLM_JUDGE", "CODE", "SOURCE_TYPE_UNSPECIFIED"})


def traces_of(services: Services) -> SqlTraceStore:
    return services.traces


# -- wire format ------------------------------------------------------------------------------

def _timestamp(ms: int) -> str:
    ts = Timestamp()
    ts.FromMilliseconds(ms)
    return ts.ToJsonString()


def _parse_timestamp(value: Any, name: str) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    ts = Timestamp()
    try:
        ts.FromJsonString(str(value))
    except ValueError:
        raise InvalidInput(f"Invalid value {value!r} for parameter '{name}': expected an RFC 3339 time") from None
    return ts.ToMilliseconds()


def _parse_duration(value: Any) -> int:
    duration = Duration()
    try:
        duration.FromJsonString(str(value))
    except ValueError:
        raise InvalidInput(f"Invalid value {value!r} for 'execution_duration': expected e.g. '1.5s'") from None
    return duration.ToMilliseconds()


def _duration(ms: int) -> str:
    duration = Duration()
    duration.FromMilliseconds(ms)
    return duration.ToJsonString()


def trace_info_json(info: TraceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "trace_id": info.trace_id,
        "trace_location": {"type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": info.experiment_id}},
        "request_time": _timestamp(info.request_time),
    }
    if info.execution_duration is not None:
        out["execution_duration"] = _duration(info.execution_duration)
    out["state"] = info.state.value
    if info.client_request_id:
        out["client_request_id"] = info.client_request_id
    if info.trace_metadata:
        out["trace_metadata"] = info.trace_metadata
    if info.assessments:
        out["assessments"] = [assessment_json(a) for a in info.assessments]
    if info.tags:
        out["tags"] = info.tags
    if info.request_preview is not None:
        out["request_preview"] = info.request_preview
    if info.response_preview is not None:
        out["response_preview"] = info.response_preview
    return out


def span_json(span: SpanRecord) -> dict[str, Any]:
    """The span as OpenTelemetry's protobuf Span in JSON (ids base64), as MLflow's Trace carries it."""
    out: dict[str, Any] = {
        "trace_id": base64.b64encode(bytes.fromhex(span.otel_trace_id)).decode(),
        "span_id": base64.b64encode(bytes.fromhex(span.span_id)).decode(),
    }
    if span.parent_span_id:
        out["parent_span_id"] = base64.b64encode(bytes.fromhex(span.parent_span_id)).decode()
    out["name"] = span.name
    out["start_time_unix_nano"] = span.start_time_ns
    if span.end_time_ns is not None:
        out["end_time_unix_nano"] = span.end_time_ns
    out["attributes"] = [{"key": k, "value": any_value_json(decoded(v))} for k, v in span.attributes.items()]
    if span.events:
        out["events"] = [
            {"time_unix_nano": e.time_unix_nano, "name": e.name,
             "attributes": [{"key": k, "value": any_value_json(decoded(v))} for k, v in e.attributes.items()]}
            for e in span.events
        ]
    status: dict[str, Any] = {}  # protobuf's JSON leaves defaults (UNSET, "") out
    if span.status is not SpanStatus.UNSET:
        status["code"] = f"STATUS_CODE_{span.status.value}"
    if span.status_message:
        status["message"] = span.status_message
    out["status"] = status
    return out


def assessment_json(a: Assessment) -> dict[str, Any]:
    out: dict[str, Any] = {
        "assessment_id": a.assessment_id,
        "assessment_name": a.name,
        "trace_id": a.trace_id,
    }
    if a.span_id:
        out["span_id"] = a.span_id
    out["source"] = {"source_type": a.source_type, "source_id": a.source_id}
    out["create_time"] = _timestamp(a.create_time)
    out["last_update_time"] = _timestamp(a.last_update_time)
    body: dict[str, Any] = {}
    if a.kind == "expectation" and a.value is not None and not isinstance(a.value, int | float | str):
        # MLflow sends (and returns) structured expectations as a JSON string.
        body["serialized_value"] = {"serialization_format": "JSON_FORMAT", "value": json.dumps(a.value)}
    elif a.value is not None:
        body["value"] = a.value
    if a.error is not None:
        body["error"] = a.error
    out[a.kind] = body
    if a.rationale is not None:
        out["rationale"] = a.rationale
    if a.metadata:
        out["metadata"] = a.metadata
    if a.overrides:
        out["overrides"] = a.overrides
    out["valid"] = a.valid
    if a.run_id:
        out["run_id"] = a.run_id
    return out


def _trace_info_from_json(raw: Any) -> TraceInfo:
    if not isinstance(raw, dict):
        raise InvalidInput("Missing value for required parameter 'trace.trace_info'")
    location = raw.get("trace_location") or {}
    experiment = location.get("mlflow_experiment") if isinstance(location, dict) else None
    experiment_id = experiment.get("experiment_id") if isinstance(experiment, dict) else None
    if not experiment_id:
        raise InvalidInput("trace_location.mlflow_experiment.experiment_id is required: trackflow keeps traces "
                           "in experiments")
    trace_id = as_str(required(raw, "trace_id"), "trace_id")
    state = as_str(raw.get("state") or "STATE_UNSPECIFIED", "state")
    if state not in TraceState.__members__:
        valid = ", ".join(TraceState.__members__)
        raise InvalidInput(f"Invalid value {state!r} for parameter 'state'; use one of {valid}")
    return TraceInfo(
        trace_id=trace_id,
        experiment_id=str(experiment_id),
        request_time=_parse_timestamp(required(raw, "request_time"), "request_time"),
        execution_duration=_parse_duration(raw["execution_duration"]) if raw.get("execution_duration") else None,
        state=TraceState(state),
        request_preview=raw.get("request_preview"),
        response_preview=raw.get("response_preview"),
        client_request_id=raw.get("client_request_id"),
        trace_metadata=_string_map(raw.get("trace_metadata"), "trace_metadata"),
        tags=_string_map(raw.get("tags"), "tags"),
    )


def _string_map(value: Any, name: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidInput(f"Invalid value for parameter '{name}': expected a map of strings")
    return value


def _assessment_from_json(raw: Any, trace_id: str, now_ms: int) -> Assessment:
    if not isinstance(raw, dict):
        raise InvalidInput("Missing value for required parameter 'assessment'")
    kind = "feedback" if "feedback" in raw else "expectation" if "expectation" in raw else None
    if kind is None:
        raise InvalidInput("An assessment needs either 'feedback' or 'expectation'")
    body = raw[kind] if isinstance(raw[kind], dict) else {}
    source = raw.get("source") or {}
    source_type = str(source.get("source_type") or "SOURCE_TYPE_UNSPECIFIED")
    if source_type not in _SOURCE_TYPES:
        raise InvalidInput(f"Invalid value {source_type!r} for parameter 'source.source_type'")
    value = body.get("value")
    if isinstance(body.get("serialized_value"), dict):
        value = _deserialized(body["serialized_value"])
    return Assessment(
        assessment_id="",
        trace_id=trace_id,
        name=as_str(required(raw, "assessment_name"), "assessment_name"),
        source_type=source_type,
        source_id=str(source.get("source_id") or ""),
        create_time=_parse_timestamp(raw["create_time"], "create_time") if raw.get("create_time") else now_ms,
        last_update_time=(_parse_timestamp(raw["last_update_time"], "last_update_time")
                          if raw.get("last_update_time") else now_ms),
        kind=kind,
        value=value,
        error=body.get("error"),
        rationale=raw.get("rationale"),
        metadata=_string_map(raw.get("metadata"), "metadata"),
        span_id=raw.get("span_id") or None,
        run_id=raw.get("run_id") or None,
        overrides=raw.get("overrides") or None,
        valid=raw.get("valid", True) is not False,
    )


def _deserialized(serialized: dict[str, Any]) -> Any:
    if serialized.get("serialization_format") != "JSON_FORMAT":
        raise InvalidInput(f"Unknown serialization format {serialized.get('serialization_format')!r}; use JSON_FORMAT")
    try:
        return json.loads(serialized.get("value") or "null")
    except ValueError:
        raise InvalidInput("expectation.serialized_value.value is not valid JSON") from None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _trace_ids(p: dict[str, Any]) -> list[str]:
    raw = p.get("trace_ids")
    ids = [raw] if isinstance(raw, str) else as_list(raw, "trace_ids")  # one id in a query string
    return [as_str(i, "trace_ids") for i in ids]


# -- handlers ---------------------------------------------------------------------------------

def start_trace_v3(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    trace = p.get("trace")
    info = _trace_info_from_json(trace.get("trace_info") if isinstance(trace, dict) else None)
    artifact_root = s.tracking.get_experiment(info.experiment_id).artifact_location
    return {"trace": {"trace_info": trace_info_json(traces_of(s).start_trace(info, artifact_root))}}


def get_trace_info_v3(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"trace": {"trace_info": trace_info_json(traces_of(s).get_trace_info(as_str(p["trace_id"], "trace_id")))}}


def _full_trace(store: SqlTraceStore, info: TraceInfo) -> dict[str, Any]:
    return {"trace_info": trace_info_json(info), "spans": [span_json(x) for x in store.get_spans(info.trace_id)]}


def get_trace(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    store = traces_of(s)
    return {"trace": _full_trace(store, store.get_trace_info(as_str(required(p, "trace_id"), "trace_id")))}


def batch_get_traces(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    store = traces_of(s)
    return {"traces": [_full_trace(store, info) for info in store.batch_get_trace_infos(_trace_ids(p))]}


def batch_get_trace_infos(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"trace_infos": [trace_info_json(i) for i in traces_of(s).batch_get_trace_infos(_trace_ids(p))]}


def search_traces_v3(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = []
    for location in as_list(p.get("locations"), "locations") or []:
        experiment = (location.get("mlflow_experiment") or {}) if isinstance(location, dict) else {}
        if not experiment.get("experiment_id"):
            raise InvalidInput("Only MLFLOW_EXPERIMENT locations with an experiment_id are supported")
        experiment_ids.append(str(experiment["experiment_id"]))
    page = traces_of(s).search_traces(
        experiment_ids,
        filter_string=as_str(p.get("filter"), "filter") if p.get("filter") else None,
        order_by=[as_str(o, "order_by") for o in as_list(p.get("order_by"), "order_by") or []],
        max_results=as_int(p.get("max_results"), "max_results", default=100) or 100,
        page_token=p.get("page_token") or None,
    )
    out: dict[str, Any] = {"traces": [trace_info_json(i) for i in page.items]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def delete_traces(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    experiment_id = as_str(required(p, "experiment_id"), "experiment_id")
    ids = as_list(p.get("request_ids"), "request_ids")
    max_ts = as_int(p.get("max_timestamp_millis"), "max_timestamp_millis")
    if not ids and max_ts is None:
        raise InvalidInput("Either `max_timestamp_millis` or `request_ids` must be specified.")
    if ids and max_ts is not None:
        raise InvalidInput("Only one of `max_timestamp_millis` and `request_ids` can be specified.")
    deleted = traces_of(s).delete_traces(experiment_id, max_timestamp_millis=max_ts,
                                         max_traces=as_int(p.get("max_traces"), "max_traces"),
                                         trace_ids=[str(i) for i in ids] if ids else None)
    return {"traces_deleted": deleted}


def set_trace_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    key = as_str(required(p, "key"), "key")
    traces_of(s).set_trace_tag(_path_trace_id(p), key, as_str(p.get("value", ""), "value"))
    return {}


def delete_trace_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    traces_of(s).delete_trace_tag(_path_trace_id(p), as_str(required(p, "key"), "key"))
    return {}


def _path_trace_id(p: dict[str, Any]) -> str:
    return as_str(p.get("trace_id") or p.get("request_id"), "trace_id")


def link_traces_to_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    traces_of(s).link_traces_to_run(_trace_ids(p), as_str(required(p, "run_id"), "run_id"))
    return {}


def link_prompts_to_trace(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    """Record the prompt versions a trace used in its ``mlflow.linkedPrompts`` tag (MLflow's)."""
    trace_id = as_str(required(p, "trace_id"), "trace_id")
    entries = []
    for ref in as_list(p.get("prompt_versions"), "prompt_versions") or []:
        entry = {"name": str(ref.get("name")), "version": str(ref.get("version"))} if isinstance(ref, dict) else None
        if entry is None or not ref.get("name"):
            raise InvalidInput("each prompt version needs a name and a version")
        entries.append(entry)
    traces_of(s).link_prompts_to_trace(trace_id, entries)
    return {}


def create_assessment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    raw = p.get("assessment")
    trace_id = str(raw.get("trace_id") or p.get("trace_id")) if isinstance(raw, dict) else _path_trace_id(p)
    stored = traces_of(s).create_assessment(_assessment_from_json(raw, trace_id, _now_ms()))
    return {"assessment": assessment_json(stored)}


def get_assessment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"assessment": assessment_json(traces_of(s).get_assessment(p["trace_id"], p["assessment_id"]))}


def update_assessment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = p["assessment"] if isinstance(p.get("assessment"), dict) else {}
    mask = p.get("update_mask") or ""
    paths = mask.split(",") if isinstance(mask, str) else (mask.get("paths") or []) if isinstance(mask, dict) else []
    changes: dict[str, Any] = {}
    for path in (x.strip() for x in paths if x.strip()):
        if path in ("assessment_name", "assessmentName"):
            changes["name"] = as_str(raw.get("assessment_name"), "assessment_name")
        elif path in ("feedback", "expectation"):
            body: dict[str, Any] = raw[path] if isinstance(raw.get(path), dict) else {}
            value = (_deserialized(body["serialized_value"]) if isinstance(body.get("serialized_value"), dict)
                     else body.get("value"))
            changes.update(kind=path, value=value, error=body.get("error"))
        elif path == "rationale":
            changes["rationale"] = raw.get("rationale")
        elif path == "metadata":
            changes["metadata"] = _string_map(raw.get("metadata"), "metadata")
        else:
            raise InvalidInput(f"Invalid update_mask path {path!r}; use assessment_name, feedback, expectation, "
                               "rationale or metadata")
    updated = traces_of(s).update_assessment(p["trace_id"], p["assessment_id"], changes, _now_ms())
    return {"assessment": assessment_json(updated)}


def delete_assessment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    traces_of(s).delete_assessment(p["trace_id"], p["assessment_id"])
    return {}


# Literal paths before {trace_id}, which would otherwise take "search" or "get" as an id.
for _path, _methods, _handler in (
    ("/traces", ["POST"], start_trace_v3),
    ("/traces/search", ["POST"], search_traces_v3),
    ("/traces/get", ["GET"], get_trace),
    ("/traces/batchGet", ["GET"], batch_get_traces),
    ("/traces/batchGetInfos", ["POST"], batch_get_trace_infos),
    ("/traces/delete-traces", ["POST"], delete_traces),
    ("/traces/link-to-run", ["POST"], link_traces_to_run),
    ("/traces/link-prompts", ["POST"], link_prompts_to_trace),
    ("/traces/{trace_id}", ["GET"], get_trace_info_v3),
    ("/traces/{trace_id}/tags", ["PATCH"], set_trace_tag),
    ("/traces/{trace_id}/tags", ["DELETE"], delete_trace_tag),
    ("/traces/{trace_id}/assessments", ["POST"], create_assessment),
    ("/traces/{trace_id}/assessments/{assessment_id}", ["GET"], get_assessment),
    ("/traces/{trace_id}/assessments/{assessment_id}", ["PATCH"], update_assessment),
    ("/traces/{trace_id}/assessments/{assessment_id}", ["DELETE"], delete_assessment),
):
    add_endpoint(router, _path, _methods, _handler)


@otlp_router.post("/v1/traces", include_in_schema=False)
async def export_traces(request: Request) -> Response:
    """OTLP/HTTP trace export (protobuf or JSON); the experiment comes from the
    ``x-mlflow-experiment-id`` header, as on MLflow's server."""
    experiment_id = request.headers.get(EXPERIMENT_HEADER)
    if not experiment_id:
        raise InvalidInput(f"the {EXPERIMENT_HEADER} header is required: it names the experiment the spans go to")
    body = await request.body()
    spans = decode_request(body, request.headers.get("content-type"), request.headers.get("content-encoding"))
    store = traces_of(request.app.state.services)
    await run_in_threadpool(store.log_spans, experiment_id, spans)
    run_id = request.headers.get(RUN_HEADER)
    finished = sorted({sp.trace_id for sp in spans if sp.parent_span_id is None})
    if run_id and finished:
        await run_in_threadpool(store.link_traces_to_run, finished, run_id)
    # An empty ExportTraceServiceResponse, in the encoding the request used.
    if "json" in (request.headers.get("content-type") or ""):
        return JSONResponse({})
    return Response(b"", media_type="application/x-protobuf")

