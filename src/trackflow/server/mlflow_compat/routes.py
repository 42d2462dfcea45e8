"""Register MLflow-style handlers: ``handler(services, payload) -> dict`` run in a worker thread."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from trackflow.server.mlflow_compat.codec import read_payload
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services

Handler = Callable[[Services, dict[str, Any]], dict[str, Any]]


def add_endpoint(router: APIRouter, path: str, methods: Sequence[str], handler: Handler) -> None:
    async def endpoint(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        payload.update(request.path_params)  # /traces/{trace_id}/...: the path names the object
        result = await run_in_threadpool(handler, request.app.state.services, payload)
        return JSONResponse(result)

    endpoint.__name__ = handler.__name__
    router.add_api_route(path, endpoint, methods=list(methods), include_in_schema=False)
