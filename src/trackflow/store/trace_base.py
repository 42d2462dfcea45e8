"""The trace store interface: what trackflow's tracing API and the server need of traces.
Implemented by store/sql/trace_store.py (embedded, and inside the server) and
store/rest/trace_store.py (remote mode, over OTLP and /api/v1/traces)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackflow.entities import PagedList
from trackflow.entities.traces import SpanRecord, TraceInfo


class TraceStore(Protocol):
    def log_spans(self, experiment_id: str, spans: Sequence[SpanRecord]) -> None:
        """Store (or replace) spans; a trace they name that has no row yet gets one in the
        experiment. NotFound for an unknown experiment, InvalidInput for a trace of another."""

    def start_trace(self, info: TraceInfo, artifact_root: str) -> TraceInfo:
        """Record a finished trace's info (metadata and tags merged); returns what is stored."""

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        """The trace's info with its assessments; NotFound if there is none."""

    def get_spans(self, trace_id: str, offset: int = 0, limit: int | None = None) -> list[SpanRecord]:
        """The trace's spans in start-time order, ``limit`` of them from ``offset``."""

    def count_spans(self, trace_id: str) -> int:
        """How many spans the trace has (0 for an unknown trace)."""

    def search_traces(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                      order_by: Sequence[str] | None = None, max_results: int = 100,
                      page_token: str | None = None) -> PagedList[TraceInfo]:
        """Traces matching MLflow's trace filter grammar, newest first unless ordered;
        InvalidInput for a bad filter, order, page size or token."""

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set a tag; NotFound for an unknown trace."""
