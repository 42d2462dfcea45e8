"""GET/POST /login and POST /logout: the web UI's sign-in form (server/sessions.py has the
session cookie, the CSRF tokens and the failed-login limit). Sign-ins, refused ones included,
and sign-outs are written to the audit log (a change: a session starts or ends)."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime

import anyio
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from trackflow.auth.credentials import Accounts
from trackflow.auth.oidc import OidcProvider
from trackflow.config import Settings
from trackflow.server.oidc_login import add_oidc_routes
from trackflow.server.sessions import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginLimiter,
    Sessions,
    audit_sign_in,
    limit_keys,
    safe_next,
    signed_in,
)
from trackflow.server.ui.templating import render


def login_router(settings: Settings, accounts: Accounts, sessions: Sessions | None,
                 oidc: OidcProvider | None = None, secret: str = "") -> APIRouter:
    """GET/POST /login and POST /logout. With auth off (sessions None) /login says so. With
    ``oidc`` the login page offers "Sign in with <provider>" (server/oidc_login.py; its
    transaction cookie is signed with ``secret``)."""
    router = APIRouter(include_in_schema=False)
    limiter = LoginLimiter(accounts.sessions, settings.login_max_failures, settings.login_failure_window)

    def form(request: Request, next_: str, error: str = "", status: int = 200, username: str = "",
             headers: dict[str, str] | None = None) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", status, title="Sign in", next=safe_next(next_), error=error,
                          username=username, csrf=token, auth=sessions is not None,
                          provider=settings.oidc_provider_name if oidc is not None else "")
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
        keys = limit_keys(username, request)
        wait = await anyio.to_thread.run_sync(limiter.retry_after, keys, datetime.now(UTC))
        if wait:
            await anyio.to_thread.run_sync(audit_sign_in, accounts, request, None, 429, username)
            return form(request, next, f"Too many failed sign-ins: try again in {wait} seconds.", 429, username,
                        {"Retry-After": str(wait)})
        ok = await anyio.to_thread.run_sync(accounts.password_matches, username, password)
        if not ok:
            await anyio.to_thread.run_sync(limiter.failed, keys, datetime.now(UTC))
            await anyio.to_thread.run_sync(audit_sign_in, accounts, request, None, 401, username)
            return form(request, next, "Wrong username or password.", 401, username)
        await anyio.to_thread.run_sync(limiter.succeeded, username)
        response = await anyio.to_thread.run_sync(signed_in, accounts, sessions, request, username, next, "password")
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, csrf_token: str = Form("", max_length=200)) -> Response:
        """Ends this browser's session (its row goes: the cookie is refused everywhere from now on)."""
        if sessions is None:
            return RedirectResponse("/", status_code=303)
        cookie = request.cookies.get(SESSION_COOKIE)
        session = await anyio.to_thread.run_sync(sessions.session_of, cookie, datetime.now(UTC))
        if session is not None:
            if not hmac.compare_digest(session.csrf, csrf_token):
                return HTMLResponse("CSRF token missing or wrong: sign out from trackflow's own page", 403)
            await anyio.to_thread.run_sync(accounts.sessions.revoke_session, session.id)
            await anyio.to_thread.run_sync(audit_sign_in, accounts, request, session.user.username, 303)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    if oidc is not None and sessions is not None:
        add_oidc_routes(router, form, settings, accounts, sessions, oidc, secret)
    return router
