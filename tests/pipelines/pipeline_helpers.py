"""Shared helpers of the pipeline tests (a uniquely named module, so imports never hit
another directory's conftest)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"

# Runs `trackflow ...` in a fresh interpreter; registers the dags group if main does not yet.
BOOT = (
    "import sys; from trackflow.cli.main import COMMANDS, main; "
    "COMMANDS.setdefault('dags', 'trackflow.cli.dags:dags'); sys.exit(main(sys.argv[1:]))"
)

CLI = Callable[..., subprocess.CompletedProcess[str]]

WAIT_LIMIT = 90.0  # generous bound on a loaded machine, not a timing assertion


def wait_for(check: Callable[[], object], what: str, limit: float = WAIT_LIMIT) -> object:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
