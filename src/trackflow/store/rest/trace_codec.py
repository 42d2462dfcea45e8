"""The JSON of trackflow's /api/v1/traces: written by the server, read by the REST trace store."""

from __future__ import annotations

from typing import Any

from trackflow.entities.traces import Assessment, SpanEvent, SpanRecord, SpanStatus, TraceInfo, TraceState


def info_to_json(info: TraceInfo) -> dict[str, Any]:
    return {
        "trace_id": info.trace_id, "experiment_id": info.experiment_id, "request_time": info.request_time,
        "execution_duration": info.execution_duration, "state": info.state.value,
        "request_preview": info.request_preview, "response_preview": info.response_preview,
        "client_request_id": info.client_request_id, "trace_metadata": info.trace_metadata, "tags": info.tags,
    }


def info_from_json(raw: dict[str, Any]) -> TraceInfo:
    return TraceInfo(
        trace_id=raw["trace_id"], experiment_id=str(raw["experiment_id"]), request_time=raw["request_time"],
        execution_duration=raw.get("execution_duration"), state=TraceState(raw["state"]),
        request_preview=raw.get("request_preview"), response_preview=raw.get("response_preview"),
        client_request_id=raw.get("client_request_id"), trace_metadata=raw.get("trace_metadata") or {},
        tags=raw.get("tags") or {},
    )


def span_from_json(trace_id: str, raw: dict[str, Any]) -> SpanRecord:
    return SpanRecord(
        trace_id=trace_id, span_id=raw["span_id"], parent_span_id=raw.get("parent_span_id"), name=raw["name"],
        start_time_ns=raw["start_time_ns"], end_time_ns=raw.get("end_time_ns"), status=SpanStatus(raw["status"]),
        status_message=raw.get("status_message") or "", attributes=raw.get("attributes") or {},
        events=tuple(SpanEvent(e["name"], e["time_unix_nano"], e.get("attributes") or {})
                     for e in raw.get("events") or []),
        kind=raw.get("kind", 1),
    )


def assessment_to_json(a: Assessment) -> dict[str, Any]:
    return {"assessment_id": a.assessment_id, "name": a.name, "kind": a.kind, "value": a.value, "error": a.error,
            "rationale": a.rationale, "source_type": a.source_type, "source_id": a.source_id, "valid": a.valid,
            "span_id": a.span_id, "create_time": a.create_time}


def span_to_json(x: SpanRecord) -> dict[str, Any]:
    return {"span_id": x.span_id, "parent_span_id": x.parent_span_id, "name": x.name,
            "start_time_ns": x.start_time_ns, "end_time_ns": x.end_time_ns, "status": x.status.value,
            "status_message": x.status_message, "kind": x.kind, "attributes": x.attributes,
            "events": [{"name": e.name, "time_unix_nano": e.time_unix_nano, "attributes": e.attributes}
                       for e in x.events]}
