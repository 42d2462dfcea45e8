"""GET/POST /login and POST /logout: the web UI's sign-in form (server/sessions.py has the
session cookie, the CSRF tokens and the failed-login limit)."""

from __future__ import annotations

import hmac
import secrets
import time

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trackflow.config import Settings
from trackflow.server.sessions import LOGIN_CSRF_COOKIE, SESSION_COOKIE, LoginLimiter, Sessions, safe_next
from trackflow.server.ui.templating import render


def login_router(settings: Settings, sessions: Sessions | None) -> APIRouter:
    """GET/POST /login and POST /logout. With auth off (sessions None) /login says so."""
    router = APIRouter(include_in_schema=False)
    limiter = LoginLimiter()

    def form(request: Request, next_: str, error: str = "", status: int = 200, username: str = "",
             headers: dict[str, str] | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", status, title="Sign in", next=safe_next(next_), error=error,
                          username=username, csrf=token, auth=sessions is not None)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/login")
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    @router.get("/login")
    def login_page(request: Request, next: str = "/") -> HTMLResponse:
        return form(request, next)

    @router.post("/login")
    async def login(request: Request, username: str = Form("", max_length=200),
                    password: str = Form("", max_length=1000), next: str = Form("/", max_length=2000),
                    csrf_token: str = Form("", max_length=200)) -> Response:
        if sessions is None:
            return form(request, next, status=404)
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, csrf_token):
            return form(request, next, "The form expired or did not come from this site: please sign in again.",
                        403, username)
        client = request.client.host if request.client else ""
        keys = ["user:" + username, "addr:" + client]
        wait = limiter.retry_after(keys, time.monotonic())
        if wait:
            return form(request, next, f"Too many failed sign-ins: try again in {wait} seconds.", 429, username,
                        {"Retry-After": str(wait)})
        ok = await anyio.to_thread.run_sync(sessions.accounts.password_matches, username, password)
        if not ok:
            limiter.failed(keys, time.monotonic())
            return form(request, next, "Wrong username or password.", 401, username)
        limiter.succeeded(username)
        response = RedirectResponse(safe_next(next), status_code=303)
        sessions.set_cookie(response, request, await anyio.to_thread.run_sync(sessions.cookie_value, username))
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, csrf_token: str = Form("", max_length=200)) -> Response:
        if sessions is None:
            return RedirectResponse("/", status_code=303)
        session = await anyio.to_thread.run_sync(sessions.session_of, request.cookies.get(SESSION_COOKIE))
        if session is not None and not hmac.compare_digest(session.csrf, csrf_token):
            return HTMLResponse("CSRF token missing or wrong: sign out from trackflow's own page", 403)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    return router
