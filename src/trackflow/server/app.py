"""create_app(settings): wires routers, error handlers and lifespan. No module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

from trackflow import __version__
from trackflow.config import Settings
from trackflow.server.errors import install_error_handlers
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services

MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    from trackflow.server.api_v1.inference import router as v1_inference
    from trackflow.server.api_v1.registry import router as v1_registry
    from trackflow.server.api_v1.tracking import router as v1_tracking
    from trackflow.server.mlflow_compat.artifacts import router as mlflow_artifacts
    from trackflow.server.mlflow_compat.registry import router as mlflow_registry
    from trackflow.server.mlflow_compat.tracking import router as mlflow_tracking

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        for hook in app.state.shutdown_hooks:
            hook()
        app.state.services.db.dispose()

    app = FastAPI(
        title="trackflow",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.services = services or Services.from_settings(settings)
    app.state.shutdown_hooks = []
    install_error_handlers(app)

    app.include_router(v1_tracking, prefix="/api/v1")
    app.include_router(v1_registry, prefix="/api/v1")
    app.include_router(v1_inference, prefix="/api/v1")
    for prefix in MLFLOW_PREFIXES:
        app.include_router(mlflow_tracking, prefix=prefix)
        app.include_router(mlflow_registry, prefix=prefix)
    app.include_router(mlflow_artifacts, prefix="/api/2.0/mlflow-artifacts")

    @app.get("/health", include_in_schema=False)
    def health() -> PlainTextResponse:
        return PlainTextResponse("OK")

    @app.get("/version", include_in_schema=False)
    def version() -> PlainTextResponse:
        return PlainTextResponse(__version__)

    return app
