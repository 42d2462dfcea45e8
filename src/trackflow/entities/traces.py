"""GenAI traces: a trace's summary (TraceInfo), its spans and its assessments. No I/O.

Ids follow MLflow 3: a trace id is ``tr-`` + the OpenTelemetry trace id in hex, span ids are
the 16-hex-digit OpenTelemetry span ids. Attribute values are kept JSON-encoded, as MLflow
keeps them (``mlflow.spanInputs`` holds ``'{"q": 1}'``), so they round-trip unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson

TRACE_ID_PREFIX = "tr-"


class TraceState(StrEnum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"


class SpanStatus(StrEnum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"


@dataclass
class TraceInfo:
    trace_id: str
    experiment_id: str
    request_time: int  # epoch ms
    execution_duration: int | None  # ms; None while in progress
    state: TraceState
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = None
    trace_metadata: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    assessments: list[Assessment] = field(default_factory=list)


@dataclass(frozen=True)
class SpanEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, str]  # JSON-encoded values


@dataclass(frozen=True)
class SpanRecord:
    trace_id: str  # the trace's id (tr-...)
    span_id: str  # 16 hex digits
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int | None
    status: SpanStatus = SpanStatus.UNSET
    status_message: str = ""
    attributes: dict[str, str] = field(default_factory=dict)  # JSON-encoded values
    events: tuple[SpanEvent, ...] = ()
    kind: int = 1  # OpenTelemetry SpanKind number (1: internal)

    @property
    def otel_trace_id(self) -> str:
        return self.trace_id.removeprefix(TRACE_ID_PREFIX)

    @property
    def span_type(self) -> str | None:
        return decoded(self.attributes.get("mlflow.spanType"))


@dataclass
class Assessment:
    """A feedback (a judgement: value or error) or an expectation (a ground truth) on a trace."""

    assessment_id: str
    trace_id: str
    name: str
    source_type: str  # HUMAN, LLM_JUDGE, CODE
    source_id: str
    create_time: int  # epoch ms
    last_update_time: int
    kind: str  # "feedback" or "expectation"
    value: Any = None
    error: dict[str, Any] | None = None
    rationale: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    span_id: str | None = None
    run_id: str | None = None
    overrides: str | None = None
    valid: bool = True


def decoded(value: str | None) -> Any:
    """A stored (JSON-encoded) attribute value as Python; a non-JSON string as itself."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def trace_id_from_otel(otel_trace_id_hex: str) -> str:
    return TRACE_ID_PREFIX + otel_trace_id_hex
