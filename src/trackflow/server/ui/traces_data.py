"""Data of the trace pages (the traces of an experiment, one trace's span tree), shared by the
HTML views and their /api/v1/ui twins. A trace's spans are read a page at a time, so a
50,000-span trace opens as fast as a small one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackflow.entities.traces import Assessment, TraceInfo, decoded
from trackflow.errors import InvalidInput
from trackflow.server.services import Services

TRACES_PER_PAGE = 50
SPANS_PER_PAGE = 200
MAX_SPANS_PER_PAGE = 2000
ORDERS = {  # the sort choices the list offers: label -> order_by clause
    "newest": "timestamp_ms DESC", "oldest": "timestamp_ms ASC",
    "slowest": "execution_time_ms DESC", "fastest": "execution_time_ms ASC",
}
TASK_KEYS = ("trackflow.dag_id", "trackflow.dag_run_id", "trackflow.task_id")


@dataclass
class TraceRow:
    trace_id: str
    name: str
    state: str
    request_time: int
    duration_ms: int | None
    run_id: str | None
    request_preview: str | None
    response_preview: str | None


@dataclass
class TracesPage:
    experiment_id: str
    experiment_name: str
    filter: str
    order: str
    traces: list[TraceRow]
    page_token: str | None
    next_page_token: str | None
    error: str | None = None
    orders: list[str] = field(default_factory=lambda: list(ORDERS))


@dataclass
class SpanRow:
    span_id: str
    parent_span_id: str | None
    name: str
    span_type: str | None
    status: str
    status_message: str
    depth: int  # within this page; a span whose parent is on another page starts at 0
    start_offset_ms: float  # from the trace's start
    duration_ms: float | None
    bar_left: float  # per cent of the trace's duration, for the timing bar
    bar_width: float
    inputs: Any
    outputs: Any
    attributes: dict[str, Any]
    events: list[dict[str, Any]]


@dataclass
class TracePage:
    info: TraceInfo
    name: str
    experiment_name: str
    run_id: str | None
    task: dict[str, str] | None  # dag_id, dag_run_id, task_id when a pipeline task made it
    assessments: list[Assessment]
    spans: list[SpanRow]
    total_spans: int
    offset: int
    limit: int


def traces_page(services: Services, experiment_id: str, filter_string: str = "", order: str = "newest",
                page_token: str | None = None) -> TracesPage:
    """NotFound for an unknown experiment; a bad filter or order comes back in ``error``."""
    experiment = services.tracking.get_experiment(experiment_id)
    page = TracesPage(experiment_id, experiment.name, filter_string, order, [], page_token or None, None)
    if order not in ORDERS:
        page.error = f"unknown order {order!r}; use one of {', '.join(ORDERS)}"
        return page
    try:
        found = services.traces.search_traces([experiment_id], filter_string or None, [ORDERS[order]],
                                              TRACES_PER_PAGE, page_token or None)
    except InvalidInput as exc:
        page.error = str(exc)
        return page
    page.traces = [TraceRow(i.trace_id, i.tags.get("mlflow.traceName", ""), i.state.value, i.request_time,
                            i.execution_duration, i.trace_metadata.get("mlflow.sourceRun"), i.request_preview,
                            i.response_preview) for i in found.items]
    page.next_page_token = found.next_page_token
    return page


def trace_page(services: Services, trace_id: str, offset: int = 0, limit: int = SPANS_PER_PAGE) -> TracePage:
    """NotFound for an unknown trace. Spans ``offset``..``offset + limit`` in start order."""
    if not 1 <= limit <= MAX_SPANS_PER_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_SPANS_PER_PAGE}, got {limit}")
    store = services.traces
    info = store.get_trace_info(trace_id)
    spans = store.get_spans(trace_id, offset, limit)
    total = store.count_spans(trace_id)
    trace_start = info.request_time * 1_000_000
    trace_ns = max((info.execution_duration or 0) * 1_000_000, 1)
    if spans:  # spans may start before the recorded request time (clock skew) or outlast it
        trace_start = min(trace_start, spans[0].start_time_ns) if offset == 0 else trace_start
    depth: dict[str, int] = {}
    rows = []
    for span in spans:
        level = depth.get(span.parent_span_id, -1) + 1 if span.parent_span_id else 0
        depth[span.span_id] = level
        duration = None if span.end_time_ns is None else (span.end_time_ns - span.start_time_ns) / 1e6
        left = max(0.0, min(100.0, (span.start_time_ns - trace_start) / trace_ns * 100))
        width = 0.0 if duration is None else max(0.3, min(100.0 - left, duration * 1e6 / trace_ns * 100))
        attributes = {k: decoded(v) for k, v in span.attributes.items()
                      if k not in ("mlflow.spanInputs", "mlflow.spanOutputs", "mlflow.spanType",
                                   "mlflow.traceRequestId")}
        rows.append(SpanRow(
            span.span_id, span.parent_span_id, span.name, span.span_type, span.status.value, span.status_message,
            level, (span.start_time_ns - trace_start) / 1e6, duration, round(left, 2), round(width, 2),
            decoded(span.attributes.get("mlflow.spanInputs")), decoded(span.attributes.get("mlflow.spanOutputs")),
            attributes, [{"name": e.name, "attributes": {k: decoded(v) for k, v in e.attributes.items()}}
                         for e in span.events],
        ))
    metadata = info.trace_metadata
    task = {k.removeprefix("trackflow."): metadata[k] for k in TASK_KEYS} if all(
        k in metadata for k in TASK_KEYS) else None
    return TracePage(info, info.tags.get("mlflow.traceName", spans[0].name if spans and offset == 0 else ""),
                     services.tracking.get_experiment(info.experiment_id).name, metadata.get("mlflow.sourceRun"),
                     task, info.assessments, rows, total, offset, limit)
