"""/api/v1/traces: trackflow's own trace API — search, a trace's info, its spans page by page
(a 50,000-span trace is read a page at a time), tags, and recording a trace's info (its spans
come over OTLP, POST /v1/traces, as from any client)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities.traces import TraceInfo, TraceState
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.rest.trace_codec import assessment_to_json, info_to_json, span_to_json
from trackflow.store.sql.trace_store import MAX_RESULTS, SqlTraceStore

router = APIRouter(tags=["traces"], responses=ERROR_RESPONSES)
TRACE_ID = Path(min_length=1, max_length=50)
MAX_SPAN_PAGE = 10_000
BIGINT = 2**63 - 1


class TraceInfoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trace_id: str = Field(min_length=1, max_length=50)
    experiment_id: str = Field(pattern=r"^\d{1,18}$")
    request_time: int = Field(ge=0, le=BIGINT)
    execution_duration: int | None = Field(default=None, ge=0, le=BIGINT)
    state: TraceState
    request_preview: str | None = None
    response_preview: str | None = None
    client_request_id: str | None = Field(default=None, max_length=250)
    trace_metadata: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)


class TraceInfoOut(TraceInfoIn):
    assessments: list[dict[str, Any]] = Field(default_factory=list)


class TracesOut(BaseModel):
    traces: list[TraceInfoOut]
    next_page_token: str | None = None


class SpanOut(BaseModel):
    span_id: str
    parent_span_id: str | None
    name: str
    start_time_ns: int
    end_time_ns: int | None
    status: str
    status_message: str
    kind: int
    attributes: dict[str, str] = Field(description="JSON-encoded values, as MLflow keeps them")
    events: list[dict[str, Any]]


class SpansOut(BaseModel):
    trace_id: str
    total: int
    offset: int
    spans: list[SpanOut]


class TagIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str = Field(max_length=8000)


def traces(s: Services = Depends(get_services)) -> SqlTraceStore:
    return s.traces


def _info(info: TraceInfo) -> dict[str, Any]:
    return {**info_to_json(info), "assessments": [assessment_to_json(a) for a in info.assessments]}


@router.get("/traces", **returns(TracesOut))
def search_traces(
    store: SqlTraceStore = Depends(traces),
    experiment_id: Annotated[list[str], Query(min_length=1)] = ["0"],  # noqa: B006 (FastAPI copies defaults)
    filter: Annotated[str | None, Query(max_length=10_000)] = None,  # noqa: A002 (MLflow's parameter name)
    order_by: Annotated[list[str] | None, Query()] = None,
    max_results: Annotated[int, Query(ge=1, le=MAX_RESULTS)] = 100,
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    page = store.search_traces(experiment_id, filter, order_by, max_results, page_token)
    return {"traces": [_info(i) for i in page.items], "next_page_token": page.next_page_token}


@router.post("/traces", **returns(TraceInfoOut))
def record_trace(body: TraceInfoIn, s: Services = Depends(get_services)) -> dict[str, Any]:
    info = TraceInfo(**body.model_dump())
    artifact_root = s.tracking.get_experiment(info.experiment_id).artifact_location
    return _info(s.traces.start_trace(info, artifact_root))


@router.get("/traces/{trace_id}", **returns(TraceInfoOut))
def get_trace(trace_id: Annotated[str, TRACE_ID], store: SqlTraceStore = Depends(traces)) -> dict[str, Any]:
    return _info(store.get_trace_info(trace_id))


@router.get("/traces/{trace_id}/spans", **returns(SpansOut))
def get_spans(
    trace_id: Annotated[str, TRACE_ID],
    store: SqlTraceStore = Depends(traces),
    offset: Annotated[int, Query(ge=0, le=BIGINT)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_SPAN_PAGE)] = 500,
) -> dict[str, Any]:
    store.get_trace_info(trace_id)  # NotFound for an unknown trace
    spans = store.get_spans(trace_id, offset, limit)
    return {
        "trace_id": trace_id,
        "total": store.count_spans(trace_id),
        "offset": offset,
        "spans": [span_to_json(x) for x in spans],
    }


@router.put("/traces/{trace_id}/tags/{key}", **returns(TraceInfoOut))
def set_tag(trace_id: Annotated[str, TRACE_ID], key: Annotated[str, Path(min_length=1, max_length=250)],
            body: TagIn, store: SqlTraceStore = Depends(traces)) -> dict[str, Any]:
    store.set_trace_tag(trace_id, key, body.value)
    return _info(store.get_trace_info(trace_id))
