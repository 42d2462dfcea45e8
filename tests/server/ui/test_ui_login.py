"""Signing in to the web UI of a real ``trackflow server --auth`` in Chromium: a page sends the
browser to /login, the form signs in and returns to the page, the DAG list's pause switch
changes the DAG through /api/v1 (its fetch carries the session's CSRF token), and signing out
sends the browser back to /login."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
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

DAGS = Path(__file__).resolve().parents[2] / "dags"
DAG = "ui_showcase"
USER, PASSWORD = "ada", "ada-password-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trackflow_server: Any) -> Iterator[str]:
    root = tmp_path_factory.mktemp("ui-login")
    dags = root / "dags"
    dags.mkdir()
    shutil.copy(DAGS / "ui_showcase.py", dags / "ui_showcase.py")
    db = f"sqlite:///{root / 'server.db'}"
    app = create_app(Settings(home=str(root / "home"), tracking_uri=db, auth=True))  # the user, before the server
    app.state.services.accounts.create_user(USER, PASSWORD, True, datetime.now(UTC))  # EDIT on the DAG
    app.state.services.db.dispose()
    with trackflow_server(root, backend_store_uri=db, env={"TF_UI_RELEASE": str(root / "release")},
                          extra_args=("--auth", "--dags-folder", str(dags))) as url:
        deadline = time.monotonic() + 90
        while httpx.get(f"{url}/api/v1/dags/{DAG}", auth=(USER, PASSWORD), timeout=30).status_code != 200:
            assert time.monotonic() < deadline, "the showcase DAG never parsed"
            time.sleep(0.2)
        yield str(url)


def is_paused(server: str) -> bool:
    return bool(httpx.get(f"{server}/api/v1/dags/{DAG}", auth=(USER, PASSWORD), timeout=30).json()["is_paused"])


def test_sign_in_act_and_sign_out(page: Any, server: str) -> None:
    page.goto(server + "/dags")
    expect(page).to_have_url(server + "/login?next=%2Fdags")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill("not-the-password")
    page.keyboard.press("Enter")  # the form works from the keyboard
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")

    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(server + "/dags")
    expect(page.locator("header form.signout")).to_contain_text(USER)
    session = next(c for c in page.context.cookies() if c["name"] == "trackflow_session")
    assert session["httpOnly"] and session["sameSite"] == "Lax"

    assert is_paused(server)
    row = page.locator("#dags tr[data-dag-id=ui_showcase]")
    page.get_by_role("switch", name="Active (unpaused): ui_showcase").click()
    expect(row.locator(".switch-text")).to_have_text("active")
    assert not is_paused(server)  # the PATCH passed the CSRF check
    page.get_by_role("switch", name="Active (unpaused): ui_showcase").click()
    expect(row.locator(".switch-text")).to_have_text("paused")
    assert is_paused(server)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(server + "/login")
    page.goto(server + "/experiments")
    expect(page).to_have_url(server + "/login?next=%2Fexperiments")
