"""Real-browser fixtures: Debian's chromium driven by Playwright against a real server.

Chromium comes from the system (``apt-get install -y chromium``), never from
``playwright install``. Without /usr/bin/chromium the browser tests are skipped on a
developer machine and fail in CI (env CI set), where it must be installed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session."""
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed  # read by the page fixture's teardown
    return report


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A fresh browser tab (own cookies/cache) per test; JS errors fail the test. When the test
    fails, the tab is saved as a PNG (its path printed; UI_FAILURE_SCREENSHOTS=DIR chooses where)."""
    context = browser.new_context(viewport={"width": 1300, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(20_000)  # a ceiling for a loaded machine, not a timing assertion
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        if request.node.stash.get(_CALL_FAILED, False):
            folder = Path(os.environ.get("UI_FAILURE_SCREENSHOTS") or tmp_path_factory.getbasetemp() / "ui-failures")
            folder.mkdir(parents=True, exist_ok=True)
            shot = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid) + ".png")
            try:
                tab.screenshot(path=str(shot), full_page=True)
                print(f"\nscreenshot of the failing page: {shot}")
            except Exception as exc:  # a crashed tab: the failure itself is what matters
                print(f"\nno screenshot of the failing page: {exc}")
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
