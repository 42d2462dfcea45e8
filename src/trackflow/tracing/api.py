"""trackflow's tracing API: ``@trackflow.trace``, ``trackflow.start_span``, ``get_trace``,
``search_traces``.

Spans are made with OpenTelemetry's SDK on a tracer provider of trackflow's own (the
application's global provider, if any, is left alone). When a trace's root span ends, its spans
and its info go to the tracking backend's trace store — the database, or the server over OTLP —
in the active run's experiment. A trace made while a run is active records that run
(``mlflow.sourceRun``); inside a pipeline task that run is the try's tracked run, and the trace
also records the DAG, DAG run, task and try. Attribute values are stored JSON-encoded, as MLflow
stores them, so the official mlflow client reads these traces unchanged.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from opentelemetry import trace as otel
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from trackflow.entities.traces import SpanEvent, SpanRecord, SpanStatus, TraceInfo, TraceState, decoded
from trackflow.tracing.context import open_trace_prompts
from trackflow.tracking import fluent

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

SPAN_TYPE, INPUTS, OUTPUTS = "mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs"
REQUEST_ID, FUNCTION_NAME = "mlflow.traceRequestId", "mlflow.spanFunctionName"
PREVIEW_CHARS = 1000
# Task-try run tags (pipelines/runtime/tracked.py) copied into a trace made inside the task.
_TASK_TAGS = {"dag_id": "trackflow.dag_id", "run_id": "trackflow.dag_run_id", "task_id": "trackflow.task_id",
              "try_number": "trackflow.try_number", "map_index": "trackflow.map_index"}


def _encode(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return json.dumps(repr(value))  # an object JSON cannot hold is kept as its repr


class LiveSpan:
    """A span being recorded: set its inputs, outputs, attributes and status."""

    def __init__(self, span: otel.Span) -> None:
        self._span = span
        context = span.get_span_context()
        self.trace_id = "tr-" + format(context.trace_id, "032x")
        self.span_id = format(context.span_id, "016x")

    def set_inputs(self, inputs: Any) -> None:
        self._span.set_attribute(INPUTS, _encode(inputs))

    def set_outputs(self, outputs: Any) -> None:
        self._span.set_attribute(OUTPUTS, _encode(outputs))

    def set_attribute(self, key: str, value: Any) -> None:
        self._span.set_attribute(key, _encode(value))

    def set_attributes(self, attributes: dict[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def set_status(self, status: str, message: str = "") -> None:
        """``"OK"`` or ``"ERROR"`` (with a message)."""
        code = {"OK": otel.StatusCode.OK, "ERROR": otel.StatusCode.ERROR}[status.upper()]
        self._span.set_status(otel.Status(code, message or None))

    def add_event(self, name: str, attributes: dict[str, Any] | None = None) -> None:
        self._span.add_event(name, {k: _encode(v) for k, v in (attributes or {}).items()})

    def record_exception(self, exc: BaseException) -> None:
        self.add_event("exception", {
            "exception.type": type(exc).__name__, "exception.message": str(exc),
            "exception.stacktrace": "".join(traceback.format_exception(exc))[-10_000:]})
        self.set_status("ERROR", f"{type(exc).__name__}: {exc}")


@dataclass
class _OpenTrace:
    experiment_id: str
    metadata: dict[str, str]
    tags: dict[str, str]
    spans: list[SpanRecord] = field(default_factory=list)
    prompts: list[dict[str, str]] = field(default_factory=list)  # filled by tracing.context.note_prompt


class _TraceWriter(SpanProcessor):
    """Collects each trace's spans as they end; the root's end writes the trace."""

    def __init__(self) -> None:
        self._open: dict[int, _OpenTrace] = {}
        self._lock = threading.Lock()
        self.last_trace_id: str | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.parent is not None:
            return
        active = fluent.active_run()
        metadata = {"mlflow.trace_schema.version": "3"}
        if active is not None:
            metadata["mlflow.sourceRun"] = active.info.run_id
            run_tags = active.run.data.tags
            if run_tags.get("trackflow.kind") == "task_try":
                metadata.update({key: str(run_tags[tag]) for tag, key in _TASK_TAGS.items() if tag in run_tags})
        prompts = open_trace_prompts.get()  # the list start_span opened for this trace
        opened = _OpenTrace(fluent.current_experiment_id(), metadata, {"mlflow.traceName": span.name},
                            prompts=prompts if prompts is not None else [])
        with self._lock:
            self._open[span.get_span_context().trace_id] = opened

    def is_open(self, otel_trace_id: int) -> bool:
        with self._lock:
            return otel_trace_id in self._open

    def on_end(self, span: ReadableSpan) -> None:
        context = span.get_span_context()
        assert context is not None
        with self._lock:
            opened = self._open.get(context.trace_id)
            if opened is None:
                return
            opened.spans.append(_record(span))
            if span.parent is not None:
                return
            del self._open[context.trace_id]
        self._write(opened, opened.spans[-1])

    def _write(self, opened: _OpenTrace, root: SpanRecord) -> None:
        """Store the trace; a failure is logged, never raised into the traced code (as MLflow)."""
        inputs, outputs = root.attributes.get(INPUTS), root.attributes.get(OUTPUTS)
        metadata, tags = dict(opened.metadata), dict(opened.tags)
        if opened.prompts:
            tags["mlflow.linkedPrompts"] = json.dumps(opened.prompts)
        if inputs is not None:
            metadata["mlflow.traceInputs"] = inputs[:PREVIEW_CHARS]
        if outputs is not None:
            metadata["mlflow.traceOutputs"] = outputs[:PREVIEW_CHARS]
        info = TraceInfo(
            trace_id=root.trace_id, experiment_id=opened.experiment_id,
            request_time=root.start_time_ns // 1_000_000,
            execution_duration=((root.end_time_ns or root.start_time_ns) - root.start_time_ns) // 1_000_000,
            state=TraceState.ERROR if root.status is SpanStatus.ERROR else TraceState.OK,
            request_preview=None if inputs is None else inputs[:PREVIEW_CHARS],
            response_preview=None if outputs is None else outputs[:PREVIEW_CHARS],
            trace_metadata=metadata, tags=tags,
        )
        try:
            client = fluent.get_client()
            store = client.trace_store()
            store.log_spans(opened.experiment_id, opened.spans)
            store.start_trace(info, client.get_experiment(opened.experiment_id).artifact_location)
            self.last_trace_id = root.trace_id
        except Exception as exc:  # tracing must not break the traced code
            log.warning("trackflow could not store trace %s: %s", root.trace_id, exc)


def _record(span: ReadableSpan) -> SpanRecord:
    context = span.get_span_context()
    assert context is not None and span.start_time is not None
    status = {otel.StatusCode.OK: SpanStatus.OK, otel.StatusCode.ERROR: SpanStatus.ERROR}.get(
        span.status.status_code, SpanStatus.UNSET)
    trace_id = "tr-" + format(context.trace_id, "032x")
    attributes = {k: v if isinstance(v, str) else _encode(v) for k, v in (span.attributes or {}).items()}
    attributes[REQUEST_ID] = _encode(trace_id)
    return SpanRecord(
        trace_id=trace_id, span_id=format(context.span_id, "016x"),
        parent_span_id=format(span.parent.span_id, "016x") if span.parent is not None else None,
        name=span.name, start_time_ns=span.start_time, end_time_ns=span.end_time, status=status,
        status_message=span.status.description or "", attributes=attributes,
        events=tuple(SpanEvent(e.name, e.timestamp, {k: str(v) for k, v in (e.attributes or {}).items()})
                     for e in span.events),
        kind=span.kind.value + 1,  # OTLP numbers kinds from 1 (internal); the SDK's enum from 0
    )


_provider: list[tuple[TracerProvider, _TraceWriter]] = []
_provider_lock = threading.Lock()


def _tracer() -> tuple[otel.Tracer, _TraceWriter]:
    with _provider_lock:
        if not _provider:
            writer = _TraceWriter()
            provider = TracerProvider()
            provider.add_span_processor(writer)
            _provider.append((provider, writer))
        provider, writer = _provider[0]
    return provider.get_tracer("trackflow"), writer


@contextmanager
def start_span(name: str, span_type: str = "UNKNOWN", attributes: dict[str, Any] | None = None) -> Iterator[LiveSpan]:
    """A span around the block, a child of the span around it (else the root of a new trace).
    An exception leaving the block marks the span ERROR and is re-raised."""
    tracer, writer = _tracer()
    inside_ours = writer.is_open(otel.get_current_span().get_span_context().trace_id)
    # A span of another OpenTelemetry provider (the application's own) is not our parent: a
    # trace of ours starts fresh, from an empty context.
    parent = None if inside_ours else Context()
    prompts_token = None if inside_ours else open_trace_prompts.set([])
    try:
        with tracer.start_as_current_span(name, context=parent, record_exception=False,
                                          set_status_on_exception=False) as span:
            yield from _record_block(span, span_type, attributes)
    finally:
        if prompts_token is not None:
            open_trace_prompts.reset(prompts_token)


def _record_block(span: otel.Span, span_type: str, attributes: dict[str, Any] | None) -> Iterator[LiveSpan]:
    """The body of start_span inside its span: an exception marks it ERROR, else it ends OK."""
    live = LiveSpan(span)
    live.set_attribute(SPAN_TYPE, span_type)
    live.set_attributes(attributes or {})
    try:
        yield live
    except BaseException as exc:
        live.record_exception(exc)
        raise
    if span.status.status_code is otel.StatusCode.UNSET:  # type: ignore[attr-defined]
        live.set_status("OK")


@overload
def trace(func: F) -> F: ...
@overload
def trace(func: None = None, *, name: str | None = None, span_type: str = "UNKNOWN",
          attributes: dict[str, Any] | None = None) -> Callable[[F], F]: ...
def trace(func: F | None = None, *, name: str | None = None, span_type: str = "UNKNOWN",
          attributes: dict[str, Any] | None = None) -> F | Callable[[F], F]:
    """Record each call of the function as a span: its arguments as inputs, its return value as
    outputs, an exception as an ERROR status. ``@trace`` or ``@trace(name=..., span_type=...)``."""

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn)
        span_name = name or fn.__name__

        def inputs_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return {"args": list(args), **kwargs}
            bound.apply_defaults()
            return {k: v for k, v in bound.arguments.items() if k not in ("self", "cls")}

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with start_span(span_name, span_type, attributes) as span:
                    span.set_attribute(FUNCTION_NAME, fn.__name__)
                    span.set_inputs(inputs_of(args, kwargs))
                    result = await fn(*args, **kwargs)
                    span.set_outputs(result)
                    return result
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with start_span(span_name, span_type, attributes) as span:
                span.set_attribute(FUNCTION_NAME, fn.__name__)
                span.set_inputs(inputs_of(args, kwargs))
                result = fn(*args, **kwargs)
                span.set_outputs(result)
                return result

        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate


@dataclass
class Trace:
    """A stored trace: its info and its spans in start-time order."""

    info: TraceInfo
    spans: list[SpanRecord]

    def span(self, name: str) -> SpanRecord:
        """The first span of that name; KeyError if none."""
        for span in self.spans:
            if span.name == name:
                return span
        raise KeyError(name)

    def inputs(self, span: SpanRecord) -> Any:
        return decoded(span.attributes.get(INPUTS))

    def outputs(self, span: SpanRecord) -> Any:
        return decoded(span.attributes.get(OUTPUTS))


def get_last_active_trace_id() -> str | None:
    """The id of the last trace this process stored."""
    return _tracer()[1].last_trace_id


def get_trace(trace_id: str) -> Trace:
    """A stored trace with all its spans; NotFound if there is none."""
    store = fluent.get_client().trace_store()
    info = store.get_trace_info(trace_id)
    return Trace(info, store.get_spans(trace_id))


def search_traces(experiment_ids: list[str] | None = None, filter_string: str | None = None,
                  order_by: list[str] | None = None, max_results: int = 100) -> list[TraceInfo]:
    """Traces of the experiments (default: the current one), with MLflow's trace filter grammar:
    ``tags.k = 'v'``, ``trace.status = 'ERROR'``, ``span.type = 'LLM'``, ``run_id = '...'``..."""
    store = fluent.get_client().trace_store()
    ids = experiment_ids or [fluent.current_experiment_id()]
    return store.search_traces(ids, filter_string, order_by, max_results).items


__all__ = ["LiveSpan", "Trace", "get_last_active_trace_id", "get_trace", "search_traces", "start_span", "trace"]
