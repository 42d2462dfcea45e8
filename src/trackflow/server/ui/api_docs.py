"""/api/v1/docs (Swagger UI) and /api/v1/redoc (ReDoc) served from the package's vendored
copies under static/vendor, so the API's interactive docs work offline (FastAPI's defaults
load both from a CDN)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from trackflow.server.ui.urls import Urls

OPENAPI_URL = "/api/v1/openapi.json"
# Nothing on these pages may leave the server: ReDoc's "powered by" logo comes from its CDN and
# Swagger UI would ask validator.swagger.io for a badge; the browser refuses both outright.
# (FastAPI's pages run one inline script; ReDoc styles inline and parses in a blob: worker.)
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'")

router = APIRouter(include_in_schema=False)


@router.api_route("/api/v1/docs", methods=["GET", "HEAD"])
def swagger_ui() -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title="trackflow API",
        swagger_js_url=Urls.static("vendor/swagger-ui/swagger-ui-bundle.js"),
        swagger_css_url=Urls.static("vendor/swagger-ui/swagger-ui.css"),
        swagger_favicon_url=Urls.static("favicon.svg"),
        # tags start collapsed: 140 operations expanded at once is slow, and Swagger UI stops drawing part-way
        swagger_ui_parameters={"validatorUrl": None, "docExpansion": "none"},
    )
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page


@router.api_route("/api/v1/redoc", methods=["GET", "HEAD"])
def redoc() -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=OPENAPI_URL,
        title="trackflow API",
        redoc_js_url=Urls.static("vendor/redoc/redoc.standalone.js"),
        redoc_favicon_url=Urls.static("favicon.svg"),
        with_google_fonts=False,
    )
    page.headers["Content-Security-Policy"] = DOCS_CSP
    return page
