"""Traces in remote mode: spans go over OTLP (POST /v1/traces, the server's ingest for every
client), infos and reads over /api/v1/traces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from trackflow.entities import PagedList
from trackflow.entities.traces import SpanRecord, TraceInfo
from trackflow.errors import TrackflowError
from trackflow.store.rest.http import HttpJsonClient, raise_for_error
from trackflow.store.rest.trace_codec import info_from_json, info_to_json, span_from_json
from trackflow.tracing.otlp import PROTOBUF, encode_request


def _trace(trace_id: str) -> str:
    return f"/api/v1/traces/{quote(trace_id, safe='')}"


class RestTraceStore:
    def __init__(self, base_url: str, token: str = "") -> None:
        self.http = HttpJsonClient(base_url, token=token)

    def log_spans(self, experiment_id: str, spans: Sequence[SpanRecord]) -> None:
        if not spans:
            return
        try:
            response = self.http.session.post(
                f"{self.http.base_url}/v1/traces", data=encode_request(spans), timeout=self.http.timeout,
                headers={"Content-Type": PROTOBUF, "x-mlflow-experiment-id": experiment_id})
        except OSError as exc:
            raise TrackflowError(f"cannot reach the trackflow server at {self.http.base_url}: {exc}") from None
        raise_for_error(response)

    def start_trace(self, info: TraceInfo, artifact_root: str = "") -> TraceInfo:
        body = {k: v for k, v in info_to_json(info).items() if k != "assessments"}
        return info_from_json(self.http.call("POST", "/api/v1/traces", body))

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        return info_from_json(self.http.call("GET", _trace(trace_id)))

    def get_spans(self, trace_id: str, offset: int = 0, limit: int | None = None) -> list[SpanRecord]:
        params: dict[str, Any] = {"offset": offset}
        if limit is not None:
            params["limit"] = limit
        page = self.http.call("GET", f"{_trace(trace_id)}/spans", params=params)
        return [span_from_json(trace_id, s) for s in page["spans"]]

    def count_spans(self, trace_id: str) -> int:
        return int(self.http.call("GET", f"{_trace(trace_id)}/spans", params={"limit": 1})["total"])

    def search_traces(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                      order_by: Sequence[str] | None = None, max_results: int = 100,
                      page_token: str | None = None) -> PagedList[TraceInfo]:
        params: dict[str, Any] = {"experiment_id": list(experiment_ids), "max_results": max_results}
        if filter_string:
            params["filter"] = filter_string
        if order_by:
            params["order_by"] = list(order_by)
        if page_token:
            params["page_token"] = page_token
        page = self.http.call("GET", "/api/v1/traces", params=params)
        return PagedList([info_from_json(t) for t in page["traces"]], page.get("next_page_token"))

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        self.http.call("PUT", f"{_trace(trace_id)}/tags/{quote(key, safe='')}", {"value": value})
