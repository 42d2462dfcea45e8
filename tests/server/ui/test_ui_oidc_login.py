"""Signing in with OpenID Connect, in Chromium, against a real OpenID Provider: panva's certified
``oidc-provider`` (Node, tests/server/oidc_provider, installed by scripts/ensure-oidc-provider.sh)
with its own login form. trackflow's login page offers "Sign in with Test IdP"; the browser goes
to the provider, signs in there, consents, and comes back signed in to trackflow with a
server-side session like a password sign-in. A provider user trackflow does not know is refused
(403) unless ``oidc_create_users`` is on; a callback whose state or nonce does not match the
sign-in this browser started is refused with 400."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer

from servers import ThreadServer, free_port
from trackflow.auth.oidc import OidcError, OidcProvider
from trackflow.config import Settings, load_settings
from trackflow.errors import InvalidInput
from trackflow.server.app import create_app

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

PROVIDER_DIR = Path(__file__).resolve().parents[1] / "oidc_provider"
SECRET = "oidc-test-session-secret"
CLIENT_ID, CLIENT_SECRET = "trackflow", "trackflow-client-secret-1"
USER = "ada"


@dataclass
class Servers:
    strict: str  # only users trackflow already has
    open: str  # oidc_create_users on
    provider: str
    accounts: Any


def _settings(home: Path, issuer: str, create_users: bool) -> Settings:
    return Settings(home=str(home), auth=True, session_secret=SECRET, oidc_issuer=issuer, oidc_client_id=CLIENT_ID,
                    oidc_client_secret=CLIENT_SECRET, oidc_provider_name="Test IdP", oidc_create_users=create_users)


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    node = shutil.which("node")
    if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("the test OpenID Provider is not installed: run scripts/ensure-oidc-provider.sh (node and npm)",
                    pytrace=False)
    root = tmp_path_factory.mktemp("oidc")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    strict_settings = _settings(root / "strict", issuer, False)
    strict_app = create_app(strict_settings)
    # made as an admin would for a provider's user: no password of hers exists
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")},
           "TRACKFLOW_HOME": strict_settings.home, "TRACKFLOW_TRACKING_URI": strict_settings.resolved_tracking_uri}
    made = subprocess.run([sys.executable, "-m", "trackflow", "users", "create", USER, "--no-password"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0 and f"Created user {USER}" in made.stdout, made.stderr
    open_app = create_app(_settings(root / "open", issuer, True))
    strict, opened = ThreadServer(strict_app), ThreadServer(open_app)
    callbacks = ",".join(f"{s.url}/login/oidc/callback" for s in (strict, opened))
    log = root / "provider.log"
    with open(log, "wb") as out:
        provider = subprocess.Popen([node, "provider.mjs", str(port), CLIENT_ID, CLIENT_SECRET, callbacks],
                                    cwd=PROVIDER_DIR, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert provider.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        with strict, opened:
            yield Servers(strict.url, opened.url, issuer, strict_app.state.services.accounts)
    finally:
        provider.terminate()
        provider.wait(timeout=15)
        for app in (strict_app, open_app):
            app.state.services.db.dispose()


def sign_in_at_provider(page: Any, servers: Servers, login: str) -> None:
    """On the provider's own pages: its login form (any password), then its consent prompt
    unless this account already consented to trackflow."""
    interaction = f"{servers.provider}/interaction/"
    page.wait_for_url(lambda url: url.startswith(interaction))
    form_url = page.url
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password: the provider's dev login")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(lambda url: url.startswith(interaction) and url != form_url
                      or not url.startswith(servers.provider))
    if page.url.startswith(interaction):
        page.get_by_role("button", name="Continue").click()


def test_sign_in_with_the_provider_and_come_back_signed_in(page: Any, servers: Servers) -> None:
    server = servers.strict
    page.goto(server + "/experiments")
    expect(page).to_have_url(server + "/login?next=%2Fexperiments")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    sign_in_at_provider(page, servers, USER)
    expect(page).to_have_url(server + "/experiments")
    expect(page.locator("header form.signout")).to_contain_text(USER)
    sessions = page.request.get(server + "/api/v1/sessions").json()["sessions"]
    assert [(s["username"], s["method"], s["current"]) for s in sessions] == [(USER, "oidc", True)]
    assert not any(c["name"] == "trackflow_oidc" for c in page.context.cookies())  # used once, then gone
    entry = servers.accounts.store.list_audit(limit=1)[0]
    assert (entry.username, entry.method, entry.path, entry.status) == (USER, "GET", "/login/oidc/callback", 303)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server + "/login")
    assert page.request.get(server + "/api/v1/users/me").status == 401


def test_an_unknown_user_is_refused_unless_users_are_created(page: Any, servers: Servers) -> None:
    page.goto(servers.strict + "/login")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    with page.expect_response(lambda r: "/login/oidc/callback" in r.url) as answer:
        sign_in_at_provider(page, servers, "mallory")
    assert answer.value.status == 403
    expect(page.locator("#login-error")).to_contain_text(
        "Test IdP signed you in as 'mallory', but trackflow has no such user")

    page.goto(servers.open + "/login?next=%2Fmodels")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    # still signed in at the provider, which remembers the consent: straight back, with a new user
    expect(page).to_have_url(servers.open + "/models")
    expect(page.locator("header form.signout")).to_contain_text("mallory")
    me = page.request.get(servers.open + "/api/v1/users/me").json()
    assert me["username"] == "mallory" and me["is_admin"] is False


def held_back_callback(client: httpx.Client, servers: Servers, login: str) -> str:
    """Go through the provider's own pages over HTTP (its login form, then its consent prompt
    when it shows one), following its redirects but not the last one, back to trackflow: that
    callback URL is returned unused."""
    answer = client.get(f"{servers.strict}/login/oidc", params={"next": "/"})
    for _ in range(12):
        assert answer.status_code in (302, 303), answer.text
        location = str(answer.url.join(answer.headers["location"]))
        if location.startswith(servers.strict):
            return location
        answer = client.get(location)
        if answer.status_code == 200:  # one of the provider's forms: sign in, or consent
            action = re.search(r'action="([^"]+)"', answer.text)
            assert action, answer.text
            fields = ({"prompt": "login", "login": login, "password": "any"} if 'name="login"' in answer.text
                      else {"prompt": "consent"})
            answer = client.post(str(answer.url.join(action.group(1))), data=fields)
    raise AssertionError("the provider never sent the browser back")


def test_a_callback_with_a_wrong_state_or_nonce_is_refused(servers: Servers) -> None:
    """The provider's real answer is held back from trackflow and replayed with one part changed."""
    with httpx.Client() as browser:
        held = held_back_callback(browser, servers, USER)
        transaction = browser.cookies["trackflow_oidc"]
    callback = urlsplit(held)
    params = dict(parse_qsl(callback.query))
    assert params["code"] and params["state"] and params["iss"] == servers.provider
    url = f"{servers.strict}{callback.path}"

    def replay(query: dict[str, str], cookie: str | None) -> httpx.Response:
        return httpx.get(f"{url}?{urlencode(query)}", cookies={"trackflow_oidc": cookie} if cookie else None)

    wrong_state = replay({**params, "state": "not-the-state-this-browser-started"}, transaction)
    assert wrong_state.status_code == 400
    assert "a state that does not match the one this browser started" in wrong_state.text
    no_cookie = replay(params, None)  # another browser: nothing started there
    assert no_cookie.status_code == 400 and "expired or was not started in this browser" in no_cookie.text
    # the same state, but the nonce of another sign-in (what a token injected from elsewhere carries)
    signer = URLSafeTimedSerializer(SECRET, salt="trackflow-oidc")
    forged = signer.dumps({**signer.loads(transaction), "n": "the-nonce-of-another-sign-in"})
    wrong_nonce = replay(params, forged)
    assert wrong_nonce.status_code == 400
    assert "the ID token&#39;s nonce does not match this sign-in" in wrong_nonce.text
    assert "trackflow_session" not in wrong_nonce.headers.get("set-cookie", "")
    # the code was spent on that attempt: the provider refuses it now, however right the rest
    spent = replay(params, transaction)
    assert spent.status_code == 400 and "the provider refused the sign-in code: invalid_grant" in spent.text
    refused = [(e.path, e.status) for e in servers.accounts.store.list_audit(limit=4)]
    assert refused == [("/login/oidc/callback", 400)] * 4


def test_id_tokens_are_checked_against_the_provider(servers: Servers) -> None:
    """Real ID tokens from the provider: accepted with the right client and nonce; refused for
    another audience, another nonce, or with a changed claim (the signature no longer holds)."""
    with httpx.Client() as browser:
        held = held_back_callback(browser, servers, USER)
        started = URLSafeTimedSerializer(SECRET, salt="trackflow-oidc").loads(browser.cookies["trackflow_oidc"])
    code = dict(parse_qsl(urlsplit(held).query))["code"]
    tokens = httpx.post(f"{servers.provider}/token", auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "authorization_code", "code": code, "code_verifier": started["v"],
        "redirect_uri": f"{servers.strict}/login/oidc/callback"})
    assert tokens.status_code == 200, tokens.text
    id_token = tokens.json()["id_token"]

    ours = OidcProvider(servers.provider, CLIENT_ID, CLIENT_SECRET, "openid", "preferred_username")
    claims = ours.validate_id_token(id_token, started["n"])
    assert claims["sub"] == USER and claims["aud"] == CLIENT_ID and claims["iss"] == servers.provider
    with pytest.raises(OidcError, match="nonce does not match"):
        ours.validate_id_token(id_token, "another-nonce")
    other_client = OidcProvider(servers.provider, "another-client", "", "openid", "preferred_username")
    with pytest.raises(OidcError, match="is for audience 'trackflow', not this client"):
        other_client.validate_id_token(id_token, started["n"])
    header, payload, signature = id_token.split(".")
    changed = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed["sub"] = "root"
    forged_payload = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
    with pytest.raises(OidcError, match="signature does not verify"):
        ours.validate_id_token(f"{header}.{forged_payload}.{signature}", started["n"])
    with pytest.raises(OidcError, match="signature does not verify"):  # alg "none": no signature at all
        none_header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        ours.validate_id_token(f"{none_header}.{payload}.", started["n"])


def test_an_unreachable_provider_and_incomplete_settings(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = create_app(_settings(tmp_path / "home", closed, False))
    with ThreadServer(app) as server:
        answer = httpx.get(f"{server.url}/login/oidc")
        assert answer.status_code == 502 and "Cannot reach Test IdP" in answer.text
        assert "Sign in with Test IdP" in httpx.get(f"{server.url}/login").text
    app.state.services.db.dispose()
    with pytest.raises(InvalidInput, match="'oidc_client_id' is required"):
        create_app(Settings(home=str(tmp_path / "home2"), auth=True, oidc_issuer=closed))
    with pytest.raises(InvalidInput, match="oidc_username_claim"):
        load_settings({"TRACKFLOW_OIDC_USERNAME_CLAIM": "nickname"})
    with pytest.raises(InvalidInput, match="oidc_issuer"):
        load_settings({"TRACKFLOW_OIDC_ISSUER": "sso.example.com"})
