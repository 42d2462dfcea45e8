"""Editing from the UI of a ``trackflow server --auth``: once signed in, a rename made on the run
page reaches /api/v1 with the session cookie and its CSRF header; the same call without the
header is refused. A user who may only read sees no edit controls."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from trackflow.config import Settings
from trackflow.server.app import create_app

try:
    from playwright.sync_api import expect
except ImportError:  # a developer machine without the browser extras; CI must have them
    if os.environ.get("CI"):
        raise
    pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)

USER, PASSWORD = "grace", "grace-password-1"
READER, READER_PASSWORD = "linus", "linus-password-1"  # not an admin: READ, the default level


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trackflow_server: Any) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui-edit-auth")
    db = f"sqlite:///{root / 'server.db'}"
    app = create_app(Settings(home=str(root / "home"), tracking_uri=db, auth=True))  # the user, before the server
    app.state.services.accounts.create_user(USER, PASSWORD, True, datetime.now(UTC))
    app.state.services.accounts.create_user(READER, READER_PASSWORD, False, datetime.now(UTC))
    app.state.services.db.dispose()
    with trackflow_server(root, backend_store_uri=db, extra_args=("--auth",)) as url:
        yield str(url)


def sign_in(page: Any, user: str, password: str) -> None:
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_label("Password").press("Enter")


def test_signed_in_edit_sends_the_csrf_header(page: Any, server: str) -> None:
    with httpx.Client(base_url=server, auth=(USER, PASSWORD), timeout=30) as api:
        experiment_id = api.post("/api/v1/experiments", json={"name": "guarded"}).raise_for_status().json()[
            "experiment_id"]
        run_id = api.post("/api/v1/runs", json={"experiment_id": experiment_id, "run_name": "before"}
                          ).raise_for_status().json()["info"]["run_id"]

        page.goto(f"{server}/runs/{run_id}")
        expect(page).to_have_url(f"{server}/login?next=%2Fruns%2F{run_id}")
        sign_in(page, USER, PASSWORD)
        expect(page).to_have_url(f"{server}/runs/{run_id}")

        page.get_by_text("Rename", exact=True).click()
        page.get_by_label("New run name").fill("after")
        with page.expect_request(lambda r: r.method == "PATCH") as sent:
            page.get_by_role("button", name="Save name").click()
        assert sent.value.headers.get("x-csrf-token")
        expect(page.locator("h1")).to_have_text("after")
        assert api.get(f"/api/v1/runs/{run_id}").json()["info"]["run_name"] == "after"

        # The session cookie alone (no CSRF header) does not pass: the header is what made it work.
        refused = page.evaluate("""url => fetch(url, {method: "PATCH", credentials: "same-origin",
            headers: {"Content-Type": "application/json"}, body: JSON.stringify({run_name: "forged"})})
            .then(r => r.status)""", f"/api/v1/runs/{run_id}")
        assert refused == 403
        assert api.get(f"/api/v1/runs/{run_id}").json()["info"]["run_name"] == "after"

        page.get_by_role("button", name="Sign out").click()
        page.goto(f"{server}/runs/{run_id}")
        sign_in(page, READER, READER_PASSWORD)
        expect(page.locator("h1")).to_have_text("after")
        expect(page.locator("#tags-table")).to_be_visible()  # what the run holds is shown...
        expect(page.locator("main form")).to_have_count(0)  # ...without a control to change it
        expect(page.get_by_text("Rename", exact=True)).to_have_count(0)
