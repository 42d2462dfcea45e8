"""The scoring app: ``create_scoring_app(model, config)`` -> an ASGI app speaking MLflow's protocol.

Routes: ``POST /invocations`` (answers ``{"predictions": [...]}``), ``GET /ping`` and
``/health`` (200 once the model is loaded), ``GET /version`` (trackflow's version as plain
text), ``GET /metrics``. Bad requests get 400 (415 for a content type it cannot read) with
``{"error_code", "message"}``, never a 5xx; the server keeps serving. Unknown paths and methods
get 404/405 with ``{"detail": ...}``, as MLflow's FastAPI server answers them.
``tests/serving/test_scoring_differential.py`` compares all of this with ``mlflow models serve``.

Speed matters here (latency and throughput are benchmarked against MLflow):

- ``POST /invocations`` goes straight from the server to :class:`InvocationsEndpoint`, past
  any framework routing or middleware; the other routes are a small Starlette app (not
  FastAPI: nothing here needs validation or OpenAPI, and the import costs start-up time).
- small requests are scored inline on the event loop, large ones in the thread pool so
  probes stay responsive;
- numeric ``dataframe_split`` rows for models that only use column positions skip pandas
  entirely (``PyFuncModel.array_plan``).
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from trackflow.errors import InvalidInput
from trackflow.models.format import trackflow_version
from trackflow.models.pyfunc import PyFuncModel
from trackflow.models.signature import PositionalRows
from trackflow.serving.inference_log import InferenceLogger
from trackflow.serving.metrics import CONTENT_TYPE, ScoringMetrics
from trackflow.serving.payload import (
    PayloadError,
    UnsupportedContentType,
    encode_predictions,
    parse_request,
)
from trackflow.serving.tokens import token_sha256

logger = logging.getLogger("trackflow.serving")

JSON = "application/json"
INLINE_BODY_LIMIT = 64 * 1024  # bodies up to this size are scored on the event loop


@dataclass(frozen=True)
class ScoringConfig:
    model_uri: str = ""
    max_body_bytes: int = 50 * 1024 * 1024
    metrics_multiprocess_dir: str | None = None
    token_sha256: str | None = None  # set: /invocations and /metrics need that Bearer token (probes stay open)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise _TooLarge(int(value))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _TooLarge(-1) if size > limit else ConnectionError("client disconnected")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge(size)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _content_type(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return str(value.decode("latin-1"))
    return None


class InvocationsEndpoint:
    """POST /invocations as a bare ASGI app: no per-request framework work beyond routing."""

    def __init__(
        self,
        model: PyFuncModel,
        config: ScoringConfig,
        metrics: ScoringMetrics,
        inference_logger: InferenceLogger | None,
    ) -> None:
        self.model = model
        self.config = config
        self.metrics = metrics
        self.inference_logger = inference_logger
        self.schema = model.metadata.signature.inputs if model.metadata.signature else None
        self.plan = model.array_plan
        self._ok = metrics.requests.labels("invocations", "200")

    def score(self, body: bytes, content_type: str | None) -> tuple[bytes, Any, Any]:
        data, params = parse_request(body, content_type, self.schema, self.plan)
        if isinstance(data, PositionalRows):
            prepared: Any = data
            predictions = self.model.predict_rows(data, params)
        else:
            prepared = self.model.prepare_input(data)
            predictions = self.model.predict_prepared(prepared, params)
        return encode_predictions(predictions), prepared, predictions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        status, payload = 200, b""
        try:
            body = await _read_body(scope, receive, self.config.max_body_bytes)
            content_type = _content_type(scope)
            if len(body) <= INLINE_BODY_LIMIT:
                payload, prepared, predictions = self.score(body, content_type)
            else:
                payload, prepared, predictions = await run_in_threadpool(self.score, body, content_type)
        except ConnectionError:
            return
        except _TooLarge as exc:
            size = f"of {exc.size} bytes " if exc.size >= 0 else ""
            status, payload = self._fail("too_large", 400, "BAD_REQUEST",
                                         f"request body {size}exceeds the limit of {self.config.max_body_bytes} bytes")
        except UnsupportedContentType as exc:
            status, payload = self._fail("content_type", 415, "BAD_REQUEST", exc.message)
        except PayloadError as exc:
            kind = "bad_json" if "not valid JSON" in exc.message else "bad_format"
            status, payload = self._fail(kind, 400, "BAD_REQUEST", exc.message)
        except InvalidInput as exc:
            status, payload = self._fail("schema", 400, "INVALID_PARAMETER_VALUE", exc.message)
        except Exception as exc:  # noqa: BLE001 - the model failed; the server must keep serving
            logger.exception("model prediction failed")
            status, payload = self._fail(
                "model", 400, "BAD_REQUEST",
                f"the model failed on this input ({type(exc).__name__}: {exc}); "
                "check that it matches what the model was trained on",
            )
        else:
            elapsed = time.perf_counter() - started
            self.metrics.latency.observe(elapsed)
            self._ok.inc()
            self.metrics.rows.inc(_row_count(prepared))
            if self.inference_logger is not None:
                self.inference_logger.maybe_log(prepared, predictions, elapsed)
        await send({
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
        })
        await send({"type": "http.response.body", "body": payload})

    def _fail(self, kind: str, status: int, code: str, message: str) -> tuple[int, bytes]:
        self.metrics.errors.labels(kind).inc()
        self.metrics.requests.labels("invocations", str(status)).inc()
        return status, orjson.dumps({"error_code": code, "message": message})


def _row_count(data: Any) -> int:  # PositionalRows and DataFrames have a len
    if isinstance(data, dict):
        return len(next(iter(data.values()), ()))
    return len(data) if hasattr(data, "__len__") else 1


def _closing(inference_logger: InferenceLogger | None) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if inference_logger is not None:
                inference_logger.close()

    return lifespan


class ScoringApp:
    """The ASGI app: ``POST /invocations`` to the endpoint, anything else (probes, metrics,
    lifespan, 404/405) to the Starlette app in ``routes``."""

    def __init__(self, invocations: InvocationsEndpoint, routes: Starlette, token_sha256: str | None = None) -> None:
        self.invocations = invocations
        self.routes = routes
        self.model = invocations.model
        self.metrics = invocations.metrics
        self.token_sha256 = token_sha256

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.token_sha256 and scope["type"] == "http" and scope["path"] in GUARDED \
                and not _bearer_matches(scope, self.token_sha256):
            await _refuse(send)
            return
        if scope["type"] == "http" and scope["path"] == "/invocations" and scope["method"] == "POST":
            await self.invocations(scope, receive, send)
        else:
            await self.routes(scope, receive, send)


GUARDED = frozenset({"/invocations", "/metrics"})  # what a token protects; /ping, /health, /version stay open


def _bearer_matches(scope: Scope, expected_sha256: str) -> bool:
    header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), "")
    scheme, _, token = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token_sha256(token.strip()), expected_sha256)


async def _refuse(send: Send) -> None:
    body = orjson.dumps({"error_code": "UNAUTHENTICATED",
                         "message": "this model server requires a token: send it as Authorization: Bearer <token>"})
    await send({"type": "http.response.start", "status": 401, "headers": [
        (b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="trackflow-serving"')]})
    await send({"type": "http.response.body", "body": body})


def create_scoring_app(
    model: PyFuncModel, config: ScoringConfig | None = None, inference_logger: InferenceLogger | None = None
) -> ScoringApp:
    """The scoring app for a loaded model (each call builds an independent app and metrics)."""
    config = config or ScoringConfig()
    metrics = ScoringMetrics(config.metrics_multiprocess_dir)
    invocations = InvocationsEndpoint(model, config, metrics, inference_logger)
    version_text = trackflow_version()

    async def ping(request: Request) -> Response:
        return Response(b"\n", media_type=JSON)

    async def version(request: Request) -> Response:
        return Response(version_text, media_type="text/plain")

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    routes = Starlette(
        routes=[
            # a Route whose endpoint is an ASGI class is called with (scope, receive, send); POST
            # requests never get here, but other methods get their 405 from it
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=_closing(inference_logger),
    )
    return ScoringApp(invocations, routes, config.token_sha256)
