"""`trackflow dags ...` against a server URL acts on the server's state through /api/v1."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trackflow.cli.main import main

DAGS = Path(__file__).resolve().parents[1] / "dags"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_dags_commands_through_a_server(
    tmp_path: Path, trackflow_server: Callable[..., Any], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "taskflow_etl.py", folder / "taskflow_etl.py")
    with trackflow_server(tmp_path / "srv", extra_args=("--dags-folder", str(folder))) as url:
        remote = ("--tracking-uri", str(url), "dags")
        deadline = time.monotonic() + 60
        while True:  # the server parses its folder in the background
            code, out, err = run(capsys, *remote, "list")
            if "taskflow_etl" in out or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert code == 0 and "taskflow_etl" in out, err
        assert run(capsys, *remote, "pause", "taskflow_etl")[0] == 0
        code, out, err = run(capsys, *remote, "trigger", "taskflow_etl", "--run-id", "remote-1")
        assert code == 0 and "remote-1" in out, err
        code, out, _ = run(capsys, *remote, "runs", "taskflow_etl")
        assert "remote-1" in out and "queued" in out  # paused: the run waits
        code, out, _ = run(capsys, *remote, "runs", "taskflow_etl", "--run-id", "remote-1")
        assert code == 0 and "remote-1" in out
        code, _, err = run(capsys, *remote, "trigger", "no_such_dag")
        assert code == 2 and err.strip().startswith("error:") and "no_such_dag" in err
        code, _, err = run(capsys, *remote, "backfill", "taskflow_etl", "-s", "2025-01-01", "-e", "2025-01-02")
        assert code == 2 and "server URL" in err
