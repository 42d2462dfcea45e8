"""The audit log page of a real ``trackflow server --auth`` in Chromium: an admin finds it in the
menu, sees who changed what (refusals included), filters by user and pages back; a user who is
not an admin has no link and is refused the page and its JSON twin."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from a11y import assert_keyboard_ready

from trackflow.config import Settings
from trackflow.server.app import create_app

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

ADMIN, USER, PASSWORD = "root", "bob", "a-long-password-1"
TAGS = 105  # more change requests than one page of the log (100)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trackflow_server: Any) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui-audit")
    db = f"sqlite:///{root / 'server.db'}"
    app = create_app(Settings(home=str(root / "home"), tracking_uri=db, auth=True))  # the users, before the server
    app.state.services.accounts.create_user(ADMIN, PASSWORD, True, datetime.now(UTC))
    app.state.services.accounts.create_user(USER, PASSWORD, False, datetime.now(UTC))
    app.state.services.db.dispose()
    with trackflow_server(root, backend_store_uri=db, extra_args=("--auth",)) as url:
        with httpx.Client(base_url=str(url), auth=(USER, PASSWORD), timeout=30) as bob:
            experiment_id = bob.post("/api/v1/experiments", json={"name": "bobs-experiment"}).raise_for_status().json()
            experiment_id = experiment_id.get("experiment_id", experiment_id)
            for i in range(TAGS):
                bob.post(f"/api/v1/experiments/{experiment_id}/tags",
                         json={"key": f"k{i}", "value": "v"}).raise_for_status()
            refused = bob.post("/api/v1/users", json={"username": "eve", "password": PASSWORD, "is_admin": True})
            assert refused.status_code == 403
        yield str(url)


def sign_in(page: Any, server: str, username: str) -> None:
    page.goto(server + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page.locator("header form.signout")).to_contain_text(username)


def test_admin_reads_filters_and_pages_the_audit_log(page: Any, server: str) -> None:
    sign_in(page, server, ADMIN)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    expect(page.locator("h1")).to_have_text("Audit log")
    rows = page.locator("#audit tbody tr")
    expect(rows).to_have_count(100)
    expect(rows.first).to_contain_text("POST /login")  # the admin's own sign-in is logged
    expect(rows.first).to_contain_text(ADMIN)
    refused = rows.nth(1)
    expect(refused).to_contain_text("POST /api/v1/users")  # the refused change is logged too
    expect(refused).to_contain_text("403")
    expect(refused).to_contain_text(USER)
    assert_keyboard_ready(page)

    page.get_by_label("User").fill(USER)
    page.get_by_label("User").press("Enter")
    expect(page).to_have_url(re.compile(rf"/audit\?username={USER}&since=$"))
    expect(rows).to_have_count(100)
    page.get_by_role("link", name="Older entries »").click()
    # the sign-in itself is not bob's; the rest of bob's requests: tags, then the experiment
    expect(rows).to_have_count(TAGS + 2 - 100)
    expect(rows.last).to_contain_text("POST /api/v1/experiments")
    expect(rows.last.locator("td").nth(1)).to_have_text(USER)
    expect(page.get_by_role("link", name="Older entries »")).to_have_count(0)

    entries = page.request.get(f"{server}/api/v1/ui/audit?username={USER}").json()["entries"]
    assert len(entries) == 100 and {e["username"] for e in entries} == {USER}
    assert page.request.get(f"{server}/api/v1/ui/audit?since=not-a-date").status == 400


def test_a_user_who_is_not_an_admin_is_refused(page: Any, server: str) -> None:
    sign_in(page, server, USER)
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    response = page.goto(server + "/audit")
    assert response is not None and response.status == 403
    assert page.request.get(f"{server}/api/v1/ui/audit").status == 403
    assert httpx.get(f"{server}/api/v1/audit", auth=(USER, PASSWORD), timeout=30).status_code == 403
