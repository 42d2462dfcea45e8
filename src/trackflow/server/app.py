"""create_app(settings): wires routers, error handlers and lifespan. No module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from trackflow import __version__
from trackflow.auth.credentials import Accounts
from trackflow.auth.oidc import OidcProvider
from trackflow.auth.permissions import Permissions, parse_level
from trackflow.config import Settings
from trackflow.errors import InvalidInput
from trackflow.server.access import AccessMiddleware, app_routes, missing_rules
from trackflow.server.auth import AuthMiddleware
from trackflow.server.body_limit import BodyLimitMiddleware
from trackflow.server.errors import install_error_handlers
from trackflow.server.health import health_report
from trackflow.server.login import login_router
from trackflow.server.mlflow_compat.server_info import MLFLOW_API_VERSION
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.server.sessions import Sessions, session_secret
from trackflow.store.sql.auth_store import SqlAuthStore

MLFLOW_PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")


def create_app(settings: Settings, services: Services | None = None, run_scheduler: bool = False) -> FastAPI:
    """The ASGI app. With ``run_scheduler`` the pipeline scheduler and local executor run in
    the background of this process (``trackflow server``): on SQLite, Conflict here if another
    scheduler already runs on the database (PipelineService.claim)."""
    from trackflow.server.api_v1.accounts import router as v1_accounts
    from trackflow.server.api_v1.assets import router as v1_assets
    from trackflow.server.api_v1.connections import router as v1_connections
    from trackflow.server.api_v1.inference import router as v1_inference
    from trackflow.server.api_v1.logged_models import router as v1_logged_models
    from trackflow.server.api_v1.permissions import router as v1_permissions
    from trackflow.server.api_v1.pipelines import SERVICE_KEY
    from trackflow.server.api_v1.pipelines import router as v1_pipelines
    from trackflow.server.api_v1.registry import router as v1_registry
    from trackflow.server.api_v1.traces import router as v1_traces
    from trackflow.server.api_v1.tracking import router as v1_tracking
    from trackflow.server.api_v1.variables import router as v1_variables
    from trackflow.server.mlflow_compat.artifacts import router as mlflow_artifacts
    from trackflow.server.mlflow_compat.auth import router as mlflow_auth
    from trackflow.server.mlflow_compat.auth import v3_router as mlflow_auth_v3
    from trackflow.server.mlflow_compat.logged_models import ajax_router as mlflow_logged_models_ajax
    from trackflow.server.mlflow_compat.logged_models import router as mlflow_logged_models
    from trackflow.server.mlflow_compat.registry import router as mlflow_registry
    from trackflow.server.mlflow_compat.server_info import router as mlflow_server_info
    from trackflow.server.mlflow_compat.traces import otlp_router
    from trackflow.server.mlflow_compat.traces import router as mlflow_traces
    from trackflow.server.mlflow_compat.tracking import router as mlflow_tracking
    from trackflow.server.task_api.routes import router as task_api
    from trackflow.server.ui import install_ui

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = app.state.services.extras.get(SERVICE_KEY)
        if service is not None:
            service.start()
            app.state.shutdown_hooks.append(service.stop)
        yield
        for hook in app.state.shutdown_hooks:
            hook()
        app.state.services.db.dispose()

    app = FastAPI(
        title="trackflow",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by ui/api_docs.py from vendored files (works offline)
        redoc_url=None,
        default_response_class=JSONResponse,
        lifespan=lifespan,
    )
    app.state.services = services or Services.from_settings(settings)
    app.state.shutdown_hooks = []
    if run_scheduler:
        from trackflow.pipelines.service import PipelineService

        service = PipelineService(app.state.services.settings, app.state.services.db)
        service.claim()  # refuse now, before serving, rather than in the lifespan
        app.state.services.extras[SERVICE_KEY] = service  # trigger/clear routes wake it; /health reads it
    install_error_handlers(app)
    services = app.state.services
    if services.accounts is None:
        services.accounts = Accounts(SqlAuthStore(services.db))
    if services.permissions is None:
        services.permissions = Permissions(services.accounts.store,
                                           parse_level(services.settings.auth_default_permission))

    app.include_router(v1_tracking, prefix="/api/v1")
    app.include_router(v1_logged_models, prefix="/api/v1")
    app.include_router(v1_registry, prefix="/api/v1")
    app.include_router(v1_inference, prefix="/api/v1")
    app.include_router(v1_pipelines, prefix="/api/v1")
    app.include_router(v1_assets, prefix="/api/v1")
    app.include_router(v1_accounts, prefix="/api/v1")
    app.include_router(v1_variables, prefix="/api/v1")
    app.include_router(v1_connections, prefix="/api/v1")
    app.include_router(v1_traces, prefix="/api/v1")
    app.include_router(v1_permissions, prefix="/api/v1")
    app.include_router(task_api, prefix="/task-api/v1")  # task processes on workers (Celery executor)
    for prefix in MLFLOW_PREFIXES:
        app.include_router(mlflow_tracking, prefix=prefix)
        app.include_router(mlflow_registry, prefix=prefix)
        app.include_router(mlflow_logged_models, prefix=prefix)
    for prefix in (*MLFLOW_PREFIXES, "/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        app.include_router(mlflow_traces, prefix=prefix)
    app.include_router(otlp_router)  # OTLP/HTTP span export: POST /v1/traces
    app.include_router(mlflow_logged_models_ajax, prefix="/ajax-api/2.0/mlflow")
    app.include_router(mlflow_artifacts, prefix="/api/2.0/mlflow-artifacts")
    app.include_router(mlflow_server_info)
    for prefix in MLFLOW_PREFIXES:
        app.include_router(mlflow_auth, prefix=prefix)
    for prefix in ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        app.include_router(mlflow_auth_v3, prefix=prefix)
    install_ui(app)  # web UI pages, /api/v1/ui, /static/ui

    @app.get("/health", include_in_schema=False)
    def health(request: Request) -> Response:
        report = health_report(app.state.services.db, app.state.services.extras.get(SERVICE_KEY))
        status = 200 if report["ok"] else 503
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(report, status_code=status)
        # Plain text for probes and MLflow-style clients: "OK", or what failed.
        return PlainTextResponse("OK" if report["ok"] else f"UNHEALTHY: {'; '.join(report['failing'])}",
                                 status_code=status)

    @app.get("/version", include_in_schema=False)
    def version() -> PlainTextResponse:
        return PlainTextResponse(f"{MLFLOW_API_VERSION}+trackflow.{__version__}")

    if services.settings.auth:
        routes = app_routes(app.routes)
        missing = missing_rules(routes)
        if missing:  # a route nobody decided who may call: refuse to serve it
            raise RuntimeError(f"routes without an access rule in server/access.py RULES: {missing}")
        # the last added runs first: who the user is, then what they may do (server/access.py)
        app.add_middleware(AccessMiddleware, services=services, permissions=services.permissions,
                           routes=routes)
        secret = session_secret(services.settings)
        sessions = Sessions(services.accounts.sessions, secret, services.settings.session_hours,
                            services.settings.session_cookie_secure)
        oidc = oidc_provider(services.settings)
        app.include_router(login_router(services.settings, services.accounts, sessions, oidc, secret))
        app.add_middleware(AuthMiddleware, accounts=services.accounts, sessions=sessions)
    else:
        app.include_router(login_router(services.settings, services.accounts, None))
    # outermost: an oversized body is refused before anything else reads it
    app.add_middleware(BodyLimitMiddleware, max_bytes=int(services.settings.max_upload_mb * 2**20))
    return app


def oidc_provider(settings: Settings) -> OidcProvider | None:
    """The OpenID Connect provider of the settings, or None when ``oidc_issuer`` is empty
    (nothing is fetched here: discovery happens on the first sign-in)."""
    if not settings.oidc_issuer:
        return None
    if not settings.oidc_client_id:
        raise InvalidInput("setting 'oidc_client_id' is required with 'oidc_issuer' (TRACKFLOW_OIDC_CLIENT_ID)")
    return OidcProvider(settings.oidc_issuer, settings.oidc_client_id, settings.oidc_client_secret,
                        settings.oidc_scopes, settings.oidc_username_claim)


def app_from_environment() -> FastAPI:
    """The app of one ``trackflow server --workers K`` process, from the settings the parent
    put in the environment. No scheduler: the parent runs it."""
    from trackflow.config import load_settings

    return create_app(load_settings())
