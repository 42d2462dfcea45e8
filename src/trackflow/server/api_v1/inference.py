"""/api/v1 routes of the inference log: sampled scoring requests and per-feature summaries."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Query

from trackflow.server.api_v1 import schemas as out
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, INT64_MAX, returns
from trackflow.server.deps import get_services
from trackflow.server.services import Services
from trackflow.store.rest import registry_codec as codec
from trackflow.store.sql.inference_store import SqlInferenceLogStore

router = APIRouter(tags=["inference log"], responses=ERROR_RESPONSES)


def inference_store(s: Services = Depends(get_services)) -> SqlInferenceLogStore:
    return SqlInferenceLogStore(s.db)


@router.get("/inference-log", **returns(out.InferenceRecordsOut))
def list_inferences(
    endpoint: str,
    start_ms: int | None = Query(None, ge=0, le=INT64_MAX),
    end_ms: int | None = Query(None, ge=0, le=INT64_MAX),
    max_results: int = Query(100, ge=1, le=INT64_MAX),
    store: SqlInferenceLogStore = Depends(inference_store),
) -> dict[str, Any]:
    """Logged requests of one served model (``endpoint`` is the model URI it was served from)."""
    records = store.list_inferences(endpoint, start_ms, end_ms, max_results)
    return {"records": [codec.inference_to_json(r) for r in records]}


@router.get("/inference-log/summary", **returns(out.InferenceSummaryOut))
def summarize(
    endpoint: str,
    window_ms: int = Query(3_600_000, ge=1, le=INT64_MAX),
    start_ms: int | None = Query(None, ge=0, le=INT64_MAX),
    end_ms: int | None = Query(None, ge=0, le=INT64_MAX),
    store: SqlInferenceLogStore = Depends(inference_store),
) -> dict[str, Any]:
    """Per-feature statistics per time window (default: hourly windows over the last 24 hours)."""
    end = end_ms if end_ms is not None else int(time.time() * 1000) + 1
    start = start_ms if start_ms is not None else end - 24 * 3_600_000
    return {"windows": [codec.window_to_json(w) for w in store.summarize(endpoint, start, end, window_ms)]}
