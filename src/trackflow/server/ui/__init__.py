"""The web UI: server-rendered pages (views.py), their JSON twins under /api/v1/ui (api.py),
the offline API docs (api_docs.py), templates/ and static/. ``install_ui(app)`` wires all of it into an app."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from trackflow.server.ui.api import router as api_router
from trackflow.server.ui.api_docs import router as docs_router
from trackflow.server.ui.templating import ENV_STATE_KEY, STATIC_DIR, make_environment
from trackflow.server.ui.urls import API_PREFIX
from trackflow.server.ui.views import router as pages_router


def install_ui(app: FastAPI) -> None:
    """Add the UI pages, their /api/v1/ui routes, the static files and the template
    environment (kept on ``app.state``, one per app) to ``app``."""
    setattr(app.state, ENV_STATE_KEY, make_environment())
    app.include_router(api_router, prefix=API_PREFIX)
    app.include_router(pages_router)
    app.include_router(docs_router)
    app.mount("/static/ui", StaticFiles(directory=STATIC_DIR), name="ui-static")


__all__ = ["install_ui"]
