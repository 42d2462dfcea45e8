"""`trackflow server --dags-folder` stops on SIGTERM, also while a DAG file takes long to import.

The DAG-folder parse runs in a child process the scheduler waits on; a stopping server kills it
at once (before the fix SIGTERM waited for the import to end, up to the 30 s thread join, and
people reached for kill -9).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import requests

SLOW_DAG = '''
import time
from datetime import datetime
from trackflow import DAG
time.sleep(120)  # an import that hangs (a network call, a big model load...)
with DAG("slow_import", schedule=None, start_date=datetime(2025, 1, 1)):
    pass
'''


def _children(pid: int) -> list[str]:
    out = subprocess.run(["ps", "-o", "pid=,args=", "--ppid", str(pid)], capture_output=True, text=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def test_sigterm_stops_a_server_parsing_a_slow_dag_file(
    trackflow_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("sigterm")
    dags = root / "dags"
    dags.mkdir()
    (dags / "slow_import.py").write_text(SLOW_DAG)
    with trackflow_server(root, extra_args=("--dags-folder", str(dags))) as url:
        process: subprocess.Popen[bytes] = url.process
        deadline = time.monotonic() + 30
        while not any("trackflow.pipelines.dagbag" in c for c in _children(process.pid)):
            assert time.monotonic() < deadline, f"the DAG-folder parse never started: {_children(process.pid)}"
            time.sleep(0.1)
        parser = next(c for c in _children(process.pid) if "trackflow.pipelines.dagbag" in c)
        assert requests.get(f"{url}/health", timeout=10).text == "OK"  # serving while it parses

        started = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        code = process.wait(timeout=20)  # the old behaviour took 30 s or more
        took = time.monotonic() - started
        # uvicorn re-raises the signal once it has shut down gracefully: the exit status is SIGTERM's
        assert code in (0, -signal.SIGTERM), url.log()
        assert took < 15, f"stopping took {took:.1f} s"
        parser_pid = int(parser.split()[0])
        stat = Path(f"/proc/{parser_pid}/stat")
        assert not stat.exists() or stat.read_text().split()[2] == "Z", "the parsing process outlived the server"
