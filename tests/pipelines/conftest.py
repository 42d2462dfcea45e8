"""Fixtures for pipeline tests: a TRACKFLOW_HOME per test, the CLI as a real subprocess,
and the pipeline store of that home."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pipeline_helpers import BOOT, CLI

from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    (tmp_path / "out").mkdir()
    return path


@pytest.fixture
def cli(home: Path) -> CLI:
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "TRACKFLOW_HOME": str(home), "TF_TEST_OUT": str(home.parent / "out"),
                    **(env or {})}
        full_env.pop("TRACKFLOW_TRACKING_URI", None)
        return subprocess.run([sys.executable, "-c", BOOT, *args], capture_output=True, text=True, env=full_env,
                              timeout=timeout)

    return run


@pytest.fixture
def store(home: Path) -> Iterator[SqlPipelineStore]:
    db = Database(f"sqlite:///{home / 'trackflow.db'}")
    db.upgrade()
    yield SqlPipelineStore(db)
    db.dispose()
