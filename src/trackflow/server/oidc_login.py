"""GET /login/oidc and GET /login/oidc/callback: sign-in with the OpenID Connect provider of the
``oidc_*`` settings (auth/oidc.py does the protocol), ending in the same server-side session
as a password sign-in.

The sign-in's state, nonce, PKCE verifier and the page to return to travel in a short-lived
cookie signed with the session secret, scoped to /login/oidc: nothing is kept in a process, so
any ``--workers`` process may receive the callback. A provider's user becomes the trackflow
user named by ``oidc_username_claim``; one that does not exist yet is made (not an admin) only
with ``oidc_create_users``, else refused with 403.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from trackflow.auth.credentials import Accounts, check_username
from trackflow.auth.oidc import OidcError, OidcProvider, ProviderUnreachable
from trackflow.config import Settings
from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.server.sessions import Sessions, audit_sign_in, safe_next, signed_in

TRANSACTION_COOKIE = "trackflow_oidc"
TRANSACTION_PATH = "/login/oidc"  # the cookie goes to /login/oidc and /login/oidc/callback only
TRANSACTION_SECONDS = 600  # a sign-in not finished in 10 minutes starts again

# form(request, next, error, status, username) -> the login page (server/login.py)
LoginForm = Callable[..., HTMLResponse]


def add_oidc_routes(router: APIRouter, form: LoginForm, settings: Settings, accounts: Accounts, sessions: Sessions,
                    provider: OidcProvider, secret: str) -> None:
    signer = URLSafeTimedSerializer(secret, salt="trackflow-oidc")
    name = settings.oidc_provider_name

    def redirect_uri(request: Request) -> str:
        return str(request.url_for("oidc_callback"))

    def refused(request: Request, message: str, status: int, attempted: str = "") -> HTMLResponse:
        audit_sign_in(accounts, request, None, status, attempted)
        response = form(request, "/", message, status)
        response.delete_cookie(TRANSACTION_COOKIE, path=TRANSACTION_PATH)
        return response

    @router.get("/login/oidc")
    def oidc_begin(request: Request, next: str = Query("/", max_length=2000)) -> Response:
        """Send the browser to the provider, remembering (signed, in a cookie) what must come back."""
        try:
            start = provider.start(redirect_uri(request))
        except ProviderUnreachable as exc:
            return form(request, next, f"Cannot reach {name}: {exc}", 502)
        response = RedirectResponse(start.url, status_code=303)
        value = signer.dumps({"s": start.state, "n": start.nonce, "v": start.code_verifier, "next": safe_next(next)})
        response.set_cookie(TRANSACTION_COOKIE, value, max_age=TRANSACTION_SECONDS, httponly=True, samesite="lax",
                            secure=sessions.secure or request.url.scheme == "https", path=TRANSACTION_PATH)
        return response

    @router.get("/login/oidc/callback", name="oidc_callback")
    def oidc_callback(request: Request, code: str = Query("", max_length=4096),
                      state: str = Query("", max_length=512), iss: str = Query("", max_length=2000),
                      error: str = Query("", max_length=200),
                      error_description: str = Query("", max_length=2000)) -> Response:
        """Check what came back against what this browser started, then sign the user in."""
        started = _transaction(signer, request.cookies.get(TRANSACTION_COOKIE))
        if started is None:
            return refused(request, f"This sign-in with {name} expired or was not started in this browser: "
                                    "start it again.", 400)
        if not state or not hmac.compare_digest(state.encode(), started["s"].encode()):
            return refused(request, f"The sign-in with {name} came back with a state that does not match the one "
                                    "this browser started (a link from elsewhere?): start it again.", 400)
        if error:
            return refused(request, f"{name} did not sign you in: {error}"
                           + (f" ({error_description})" if error_description else ""), 400)
        if iss and iss.rstrip("/") != provider.issuer:  # RFC 9207: the answer of another provider
            return refused(request, f"The sign-in came back from issuer {iss!r}, not {name}.", 400)
        if not code:
            return refused(request, f"{name} sent no authorization code: start the sign-in again.", 400)
        try:
            claims = provider.finish(code, redirect_uri(request), started["v"], started["n"])
            username = check_username(provider.username(claims), f"{provider.username_claim} from {name}")
        except ProviderUnreachable as exc:
            return refused(request, f"Cannot finish the sign-in with {name}: {exc}", 502)
        except (OidcError, InvalidInput) as exc:
            return refused(request, f"Sign-in with {name} refused: {exc}", 400)
        try:
            accounts.store.get_user(username)
        except NotFound:
            if not settings.oidc_create_users:
                return refused(request, f"{name} signed you in as {username!r}, but trackflow has no such user: "
                                        f"ask an admin to create it (trackflow users create {username}).", 403,
                               username)
            # a password nobody knows: this user signs in through the provider (an admin may set one)
            try:
                accounts.create_user(username, secrets.token_urlsafe(32), False, datetime.now(UTC))
            except AlreadyExists:  # the same user's first sign-in in another tab won the race
                pass
        response = signed_in(accounts, sessions, request, username, started["next"], "oidc")
        response.delete_cookie(TRANSACTION_COOKIE, path=TRANSACTION_PATH)
        return response


def _transaction(signer: URLSafeTimedSerializer, cookie: str | None) -> dict[str, Any] | None:
    if not cookie:
        return None
    try:
        data = signer.loads(cookie, max_age=TRANSACTION_SECONDS)
    except BadSignature:  # SignatureExpired included
        return None
    ok = isinstance(data, dict) and all(isinstance(data.get(k), str) for k in ("s", "n", "v", "next"))
    return data if ok else None
