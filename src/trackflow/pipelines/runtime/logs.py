"""Per-try task logs: where they are written, capturing a process's output, reading them back.

A task process sends its stdout, stderr (file descriptors 1 and 2, so subprocesses are
captured too) and ``logging`` to a local file, readable while the task runs; when the try
ends the file is uploaded to the try's tracked run (``logs/attempt=N.log``).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from trackflow.pipelines.runtime.masking import RedactingStream

LOG_FORMAT = "[%(asctime)s] {%(filename)s:%(lineno)d} %(levelname)s - %(message)s"


def log_path(base_dir: str, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
    safe_run = run_id.replace(":", "_").replace("+", "_")
    parts = [f"dag_id={dag_id}", f"run_id={safe_run}", f"task_id={task_id}"]
    if map_index >= 0:
        parts.append(f"map_index={map_index}")
    return str(Path(base_dir, *parts, f"attempt={try_number}.log"))


def artifact_name(try_number: int) -> str:
    return f"attempt={try_number}.log"


@contextmanager
def capture(path: str) -> Iterator[None]:
    """Send fds 1 and 2, sys.stdout/stderr and the root logger to ``path`` (appending)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = (os.dup(1), os.dup(2))
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    old_out, old_err = sys.stdout, sys.stderr
    # secrets the task read (masking.py) become *** in what it prints and logs
    sys.stdout = RedactingStream(os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8",  # type: ignore[assignment]
                                           errors="backslashreplace"))
    sys.stderr = RedactingStream(os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8",  # type: ignore[assignment]
                                           errors="backslashreplace"))
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stdout.close()
        sys.stderr.close()
        sys.stdout, sys.stderr = old_out, old_err
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def read_local(path: str, offset: int = 0) -> str | None:
    """The log file's text from byte ``offset``, or None when the file is not here."""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
