"""The one place where domain errors become HTTP responses.

Both /api/v1 and MLflow's /api/2.0 answer ``{"error_code": ..., "message": ...}`` (MLflow's
shape); status codes follow MLflow: 404 for a missing resource, 400 for bad input.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trackflow.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageFull,
    TooLarge,
    TrackflowError,
    Unauthenticated,
    Unavailable,
)
from trackflow.server.responses import JSONResponse

# 507 Insufficient Storage: the request was fine, the artifact store has no room for it.
_STATUS = {NotFound: 404, AlreadyExists: 400, InvalidInput: 400, Conflict: 400, Unavailable: 503, StorageFull: 507,
           Unauthenticated: 401, PermissionDenied: 403, TooLarge: 413}


def error_response(code: str, message: str, status: int) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


async def _trackflow_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrackflowError)
    status = next((s for t, s in _STATUS.items() if isinstance(exc, t)), 500)
    return error_response(exc.error_code, exc.message, status)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
    return error_response("INVALID_PARAMETER_VALUE", "; ".join(problems) or "invalid request", 400)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "ENDPOINT_NOT_FOUND", 405: "BAD_REQUEST"}.get(exc.status_code, "BAD_REQUEST")
    return error_response(code, str(exc.detail), exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(TrackflowError, _trackflow_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
