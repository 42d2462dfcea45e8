"""Server-side browser sessions and the database-held login limit, over real HTTP: each sign-in
is a session a user lists and revokes one by one (an admin, anyone's), a revoked session's
next request gets 401, sign-out ends the current one, `trackflow sessions` lists and revokes on
the server's database, and the audit log has each sign-in, sign-out and revocation. Two
`trackflow server --auth` processes on one PostgreSQL database share one failed-login count
and one set of sessions."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from servers import ThreadServer
from trackflow.auth.credentials import Accounts
from trackflow.config import Settings
from trackflow.server.app import create_app
from trackflow.store.sql.auth_store import SqlAuthStore
from trackflow.store.sql.database import Database

PASSWORD = "session-password-1"
HTML = {"Accept": "text/html"}


def from_address(url: str, address: str) -> httpx.Client:
    """A client connecting from one loopback address (the limit also counts per address)."""
    return httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=address))


def login(client: httpx.Client, username: str, password: str = PASSWORD, agent: str = "browser-a") -> httpx.Response:
    form = client.get("/login", headers={"User-Agent": agent})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, form.text
    return client.post("/login", data={"username": username, "password": password, "next": "/",
                                       "csrf_token": token.group(1)}, headers={"User-Agent": agent})


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/experiments", headers=HTML)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert page.status_code == 200 and found, page.text
    return found.group(1)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[tuple[str, Settings, Accounts]]:
    settings = Settings(home=str(tmp_path / "home"), auth=True)
    app = create_app(settings)
    accounts = app.state.services.accounts
    now = datetime.now(UTC)
    accounts.create_user("root", PASSWORD, True, now)
    accounts.create_user("alice", PASSWORD, False, now)
    accounts.create_user("bob", PASSWORD, False, now)
    with ThreadServer(app) as server:
        yield server.url, app.state.services.settings, accounts
    app.state.services.db.dispose()


def test_sessions_are_listed_and_revoked_one_by_one(team: tuple[str, Settings, Accounts]) -> None:
    url, _, accounts = team
    with httpx.Client(base_url=url) as laptop, httpx.Client(base_url=url) as phone, \
            httpx.Client(base_url=url) as bob, httpx.Client(base_url=url) as root:
        assert login(laptop, "alice", agent="laptop").status_code == 303
        assert login(phone, "alice", agent="phone").status_code == 303
        assert login(bob, "bob").status_code == 303
        listed = laptop.get("/api/v1/sessions").json()["sessions"]
        assert [(s["username"], s["user_agent"], s["current"], s["method"]) for s in listed] == [
            ("alice", "phone", False, "password"), ("alice", "laptop", True, "password")]
        assert listed[0]["client"] == "127.0.0.1" and listed[0]["created_at"] and listed[0]["last_seen_at"]
        phone_id = listed[0]["id"]
        # another user's session is not even there for alice; listing it is refused
        bob_id = bob.get("/api/v1/sessions").json()["sessions"][0]["id"]
        token = csrf_of(laptop)
        assert laptop.delete(f"/api/v1/sessions/{bob_id}", headers={"X-CSRF-Token": token}).status_code == 404
        assert laptop.get("/api/v1/sessions", params={"username": "bob"}).status_code == 403
        # the cookie without the CSRF header cannot revoke (a change)
        assert laptop.delete(f"/api/v1/sessions/{phone_id}").status_code == 403
        assert phone.get("/api/v1/users/me").status_code == 200
        revoked = laptop.delete(f"/api/v1/sessions/{phone_id}", headers={"X-CSRF-Token": token})
        assert revoked.status_code == 200 and revoked.json()["id"] == phone_id
        gone = phone.get("/api/v1/users/me")
        assert gone.status_code == 401 and gone.json()["error_code"] == "UNAUTHENTICATED"
        assert phone.get("/experiments", headers=HTML).status_code == 303  # a page: to /login
        assert laptop.get("/api/v1/users/me").json()["username"] == "alice"  # the other one lives on
        assert laptop.delete(f"/api/v1/sessions/{phone_id}", headers={"X-CSRF-Token": token}).status_code == 404
        # an admin sees everyone's sessions and revokes any (here with Basic credentials)
        admin = ("root", PASSWORD)
        everyone = root.get("/api/v1/sessions", auth=admin).json()["sessions"]
        assert {s["username"] for s in everyone} == {"alice", "bob"} and not any(s["current"] for s in everyone)
        assert root.delete(f"/api/v1/sessions/{bob_id}", auth=admin).status_code == 200
        assert bob.get("/api/v1/users/me").status_code == 401
        assert root.delete("/api/v1/sessions/" + "x" * 65, auth=admin).status_code == 400
        # sign-out ends the current session: its cookie, replayed, is refused
        cookie = laptop.cookies["trackflow_session"]
        assert laptop.post("/logout", data={"csrf_token": token}).status_code == 303
        assert accounts.sessions.list_sessions("alice") == []
        replay = httpx.get(f"{url}/api/v1/users/me", cookies={"trackflow_session": cookie})
        assert replay.status_code == 401
        audit = root.get("/api/v1/audit", auth=admin, params={"limit": 50}).json()["entries"]
        seen = [(e["username"], e["method"], e["path"], e["status"]) for e in reversed(audit)]
        assert ("alice", "POST", "/login", 303) in seen and ("bob", "POST", "/login", 303) in seen
        assert ("alice", "DELETE", f"/api/v1/sessions/{phone_id}", 200) in seen
        assert ("root", "DELETE", f"/api/v1/sessions/{bob_id}", 200) in seen
        assert seen[-1] == ("alice", "POST", "/logout", 303)


def test_a_password_change_or_deleting_the_user_ends_their_sessions(team: tuple[str, Settings, Accounts]) -> None:
    url, _, accounts = team
    with httpx.Client(base_url=url) as alice, httpx.Client(base_url=url) as bob:
        login(alice, "alice")
        login(bob, "bob")
        accounts.set_password("alice", "another-password-2")
        assert alice.get("/api/v1/users/me").status_code == 401
        accounts.delete_user("bob")
        assert bob.get("/api/v1/users/me").status_code == 401
        assert accounts.sessions.list_sessions() == []


def test_failed_sign_ins_are_audited_and_success_resets_the_username_count(tmp_path: Path) -> None:
    """Limit 3 per username and per address; two clients from two loopback addresses."""
    app = create_app(Settings(home=str(tmp_path / "home"), auth=True, login_max_failures=3))
    app.state.services.accounts.create_user("alice", PASSWORD, True, datetime.now(UTC))

    with ThreadServer(app) as server, from_address(server.url, "127.0.0.1") as one, \
            from_address(server.url, "127.0.0.2") as two:
        for _ in range(2):
            assert login(one, "alice", "wrong-password").status_code == 401
        assert login(one, "alice").status_code == 303  # resets alice's count...
        for _ in range(2):  # ...so two more failures (from elsewhere) are not four
            assert login(two, "alice", "wrong-password").status_code == 401
        assert login(two, "alice").status_code == 303
        # the address's count is not reset by a success: the third failure from it closes it
        assert login(one, "alice", "wrong-password").status_code == 401
        assert login(one, "alice").status_code == 429
        assert login(two, "alice").status_code == 303
        entries = app.state.services.accounts.store.list_audit(limit=20)
        assert [(e.username, e.path, e.status, e.query, e.client) for e in reversed(entries)] == [
            *[(None, "/login", 401, "username=alice", "127.0.0.1")] * 2, ("alice", "/login", 303, "", "127.0.0.1"),
            *[(None, "/login", 401, "username=alice", "127.0.0.2")] * 2, ("alice", "/login", 303, "", "127.0.0.2"),
            (None, "/login", 401, "username=alice", "127.0.0.1"), (None, "/login", 429, "username=alice", "127.0.0.1"),
            ("alice", "/login", 303, "", "127.0.0.2")]
    app.state.services.db.dispose()


def test_the_cli_lists_and_revokes_sessions(team: tuple[str, Settings, Accounts], tmp_path: Path) -> None:
    url, settings, accounts = team
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")},
           "TRACKFLOW_HOME": settings.home, "TRACKFLOW_TRACKING_URI": settings.resolved_tracking_uri}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trackflow", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    with httpx.Client(base_url=url) as alice:
        login(alice, "alice", agent="cli-test-agent")
        listed = cli("sessions", "list", "--user", "alice", "--output", "json")
        assert listed.returncode == 0, listed.stderr
        rows: list[dict[str, Any]] = json.loads(listed.stdout)
        assert [(r["user"], r["user_agent"], r["method"]) for r in rows] == [("alice", "cli-test-agent", "password")]
        done = cli("sessions", "revoke", rows[0]["id"])
        assert done.returncode == 0 and f"Revoked session {rows[0]['id']} of alice" in done.stdout
        assert alice.get("/api/v1/users/me").status_code == 401
        missing = cli("sessions", "revoke", "nope")
        assert missing.returncode == 2 and "session 'nope' does not exist" in missing.stderr
        entry = accounts.store.list_audit(limit=1)[0]
        assert (entry.method, entry.path, entry.client) == ("DELETE", f"/api/v1/sessions/{rows[0]['id']}", "cli")


@pytest.mark.slow
def test_two_server_processes_share_the_login_limit_and_the_sessions(tmp_path: Path, trackflow_server: Any,
                                                                     postgres_uri: str) -> None:
    user = f"u{uuid.uuid4().hex[:10]}"  # the database is shared by the test session
    db = Database(postgres_uri)
    db.upgrade()
    Accounts(SqlAuthStore(db)).create_user(user, PASSWORD, False, datetime.now(UTC))
    db.dispose()
    env = {"TRACKFLOW_SESSION_SECRET": "one-secret-for-both", "TRACKFLOW_LOGIN_MAX_FAILURES": "4",
           "TRACKFLOW_LOGIN_FAILURE_WINDOW": "120"}
    with trackflow_server(tmp_path / "a", backend_store_uri=postgres_uri, env=env, extra_args=("--auth",)) as a, \
            trackflow_server(tmp_path / "b", backend_store_uri=postgres_uri, env=env, extra_args=("--auth",)) as b, \
            from_address(a, "127.0.0.4") as on_a, from_address(b, "127.0.0.4") as on_b:
        # two failures on each process: together the limit of 4
        for client in (on_a, on_b, on_a, on_b):
            assert login(client, user, "wrong-password").status_code == 401
        for client in (on_a, on_b):
            limited = login(client, user)  # the right password, still limited on both
            assert limited.status_code == 429, limited.text
            assert 0 < int(limited.headers["retry-after"]) <= 120
            assert "Too many failed sign-ins" in limited.text
        # a session made on one process is good on the other, and revoked there for both
        other = f"v{uuid.uuid4().hex[:10]}"
        db = Database(postgres_uri)
        Accounts(SqlAuthStore(db)).create_user(other, PASSWORD, False, datetime.now(UTC))
        db.dispose()
        with from_address(a, "127.0.0.5") as elsewhere_a, from_address(b, "127.0.0.5") as elsewhere_b:
            assert login(elsewhere_a, other).status_code == 303
            elsewhere_b.cookies.set("trackflow_session", elsewhere_a.cookies["trackflow_session"])
            assert elsewhere_b.get("/api/v1/users/me").json()["username"] == other
            session_id = elsewhere_b.get("/api/v1/sessions").json()["sessions"][0]["id"]
            assert elsewhere_b.delete(f"/api/v1/sessions/{session_id}",
                                      headers={"X-CSRF-Token": csrf_of(elsewhere_b)}).status_code == 200
            assert elsewhere_a.get("/api/v1/users/me").status_code == 401
