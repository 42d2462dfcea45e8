"""The web UI's sign-in with auth on (server/sessions.py), over HTTP: the login form's own CSRF
token, the session cookie's flags and expiry, a change made with the cookie needs the CSRF
header, failed logins are limited (429 with Retry-After), a browser is sent to /login while an
API client gets 401 JSON, and Basic/Bearer clients need no CSRF token. With auth off /login says so."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from servers import ThreadServer
from trackflow.config import Settings
from trackflow.server.app import create_app

USER, PASSWORD = "alice", "alice-password-1"


def serve(tmp_path: Path, **settings: object) -> Iterator[tuple[str, str]]:
    app = create_app(Settings(home=str(tmp_path / "home"), auth=True, **settings))  # type: ignore[arg-type]
    now = datetime.now(UTC)
    app.state.services.accounts.create_user(USER, PASSWORD, True, now)
    _, token = app.state.services.accounts.create_token(USER, "tests", now)
    with ThreadServer(app) as server:
        yield server.url, token
    app.state.services.db.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield from serve(tmp_path)


def login(client: httpx.Client, password: str = PASSWORD, next_: str = "/experiments") -> httpx.Response:
    form = client.get("/login", params={"next": next_})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/login", data={"username": USER, "password": password, "next": next_,
                                       "csrf_token": token.group(1)})


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/experiments", headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


def test_browser_is_sent_to_login_and_api_clients_get_401(server: tuple[str, str]) -> None:
    url, _ = server
    with httpx.Client(base_url=url) as client:
        page = client.get("/experiments?x=1", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=%2Fexperiments%3Fx%3D1"
        api = client.get("/api/v1/experiments/search", headers={"Accept": "text/html"})
        assert api.status_code == 401 and api.json()["error_code"] == "UNAUTHENTICATED"
        assert client.get("/experiments").status_code == 401  # no Accept: text/html, a script
        form = client.get("/login")
        assert form.status_code == 200
        assert '<label for="login-username">' in form.text and '<label for="login-password">' in form.text


def test_login_sets_a_session_cookie_with_safe_flags_and_logout_ends_it(server: tuple[str, str]) -> None:
    url, _ = server
    with httpx.Client(base_url=url) as client:
        done = login(client)
        assert done.status_code == 303 and done.headers["location"] == "/experiments"
        cookie = next(h for h in done.headers.get_list("set-cookie") if h.startswith("trackflow_session="))
        flags = cookie.lower()
        assert "httponly" in flags and "samesite=lax" in flags and "max-age=43200" in flags and "path=/" in flags
        assert "secure" not in flags  # plain http on 127.0.0.1
        token = csrf_of(client)
        refused = client.post("/logout", data={"csrf_token": "wrong"})
        assert refused.status_code == 403
        out = client.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 303


def test_secure_flag_from_the_setting(tmp_path: Path) -> None:
    for url, _ in serve(tmp_path, session_cookie_secure=True):
        with httpx.Client(base_url=url) as client:
            cookie = next(h for h in login(client).headers.get_list("set-cookie")
                          if h.startswith("trackflow_session="))
            assert "secure" in cookie.lower()


def test_login_form_refuses_a_post_without_its_csrf_token(server: tuple[str, str]) -> None:
    url, _ = server
    with httpx.Client(base_url=url) as client:
        forged = client.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": "x"})
        assert forged.status_code == 403 and "trackflow_session" not in forged.headers.get("set-cookie", "")


def test_a_change_with_the_session_cookie_needs_the_csrf_header(server: tuple[str, str]) -> None:
    url, token = server
    with httpx.Client(base_url=url) as client:
        login(client)
        body = {"name": "made-in-browser"}
        missing = client.post("/api/v1/experiments", json=body)
        assert missing.status_code == 403 and "CSRF token missing or wrong" in missing.json()["message"]
        wrong = client.post("/api/v1/experiments", json=body, headers={"X-CSRF-Token": "nope"})
        assert wrong.status_code == 403
        good = client.post("/api/v1/experiments", json=body, headers={"X-CSRF-Token": csrf_of(client)})
        assert good.status_code in (200, 201), good.text
    # Basic and Bearer clients send no CSRF token (no cookie rides along on their requests)
    with httpx.Client(base_url=url) as api:
        assert api.post("/api/v1/experiments", json={"name": "basic"}, auth=(USER, PASSWORD)).status_code in (200, 201)
        assert api.post("/api/v1/experiments", json={"name": "bearer"},
                        headers={"Authorization": f"Bearer {token}"}).status_code in (200, 201)


def test_wrong_passwords_are_limited_with_429_and_retry_after(server: tuple[str, str]) -> None:
    url, _ = server
    with httpx.Client(base_url=url) as client:
        for _ in range(10):
            assert login(client, password="wrong-password").status_code == 401
        limited = login(client)  # even the right password, while limited
        assert limited.status_code == 429
        assert 0 < int(limited.headers["retry-after"]) <= 300
        assert "Too many failed sign-ins" in limited.text


def test_session_expires(tmp_path: Path) -> None:
    for url, _ in serve(tmp_path, session_hours=1 / 3600):  # one second
        with httpx.Client(base_url=url) as client:
            login(client)
            assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 200
            time.sleep(2.2)
            assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 303


def test_password_change_ends_sessions(tmp_path: Path) -> None:
    app = create_app(Settings(home=str(tmp_path / "home"), auth=True))
    app.state.services.accounts.create_user(USER, PASSWORD, True, datetime.now(UTC))
    with ThreadServer(app) as server, httpx.Client(base_url=server.url) as client:
        login(client)
        assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 200
        app.state.services.accounts.set_password(USER, "another-password-2")
        assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 303
    app.state.services.db.dispose()


def test_with_auth_off_login_says_so(tmp_path: Path) -> None:
    app = create_app(Settings(home=str(tmp_path / "home")))
    with ThreadServer(app) as server, httpx.Client(base_url=server.url) as client:
        assert "Auth is off" in client.get("/login").text
        assert client.get("/experiments", headers={"Accept": "text/html"}).status_code == 200
    app.state.services.db.dispose()


@pytest.mark.parametrize("next_", ["/experiments\r\nX-Injected: yes", "/x\nSet-Cookie: a=b", "/x\x00y"])
def test_a_next_with_control_characters_goes_home(server: tuple[str, str], next_: str) -> None:
    """CR/LF in ``next`` would otherwise be echoed into the Location header."""
    url, _ = server
    with httpx.Client(base_url=url) as client:
        done = login(client, next_=next_)
        assert done.status_code == 303 and done.headers["location"] == "/"
        assert "x-injected" not in done.headers and not any(
            h.startswith("a=") for h in done.headers.get_list("set-cookie"))
