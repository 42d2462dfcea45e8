"""Finding and loading DAG files; parsing a whole folder in a separate process.

A file that fails to import (or defines an invalid DAG: a cycle, a duplicate task id, a bad
schedule) is reported with its traceback and never stops the other files. Parsing a folder
runs in a child process (``python -m trackflow.pipelines.dagbag FOLDER``) that streams one
JSON line per file, so a file that hangs, exits or crashes the interpreter costs only that
file: the parent records it as an import error and parses the rest in a fresh child.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.authoring import airflow_shim
from trackflow.pipelines.authoring.dag import DAG, collecting
from trackflow.pipelines.authoring.serialize import serialize_dag

IMPORT_TIMEOUT_SECONDS = 30


class _ImportTimeout(Exception):
    pass


def list_dag_files(folder: str) -> list[str]:
    """Python files under ``folder`` that mention "dag" and "trackflow" or "airflow" (Airflow's
    "safe mode" heuristic; an Airflow DAG file needs the import shim, see airflow_shim),
    skipping hidden and ``_``-prefixed names, sorted."""
    root = Path(folder)
    if root.is_file():
        return [str(root.resolve())]
    if not root.is_dir():
        raise NotFound(f"dags folder {folder!r} does not exist")
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "_")))
        for name in sorted(filenames):
            if not name.endswith(".py") or name.startswith((".", "_")):
                continue
            path = os.path.join(dirpath, name)
            try:
                head = Path(path).read_bytes().lower()
            except OSError:
                continue
            if b"dag" in head and (b"trackflow" in head or b"airflow" in head):
                found.append(str(Path(path).resolve()))
    return found


def _module_name(path: str) -> str:
    digest = hashlib.sha1(path.encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in Path(path).stem)
    return f"trackflow_dag_{digest}_{stem}"


@dataclass
class FileResult:
    """What one DAG file defines: valid DAGs, and an error (traceback) if any."""

    path: str
    dags: list[DAG] = field(default_factory=list)
    error: str | None = None


def load_file(path: str, timeout: int | None = None) -> FileResult:
    """Import one DAG file and collect its DAGs (module globals and auto-registered ones).

    Never raises for problems in the file: they are returned as ``error``.
    """
    path = str(Path(path).resolve())
    result = FileResult(path)
    folder = str(Path(path).parent)
    if folder not in sys.path:  # as Airflow: a helper module beside a DAG file imports
        sys.path.append(folder)
    airflow_shim.add_dags_folder(folder)  # and, with the shim, as airflow.example_dags.<module>
    name = _module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        result.error = f"cannot import {path}: not a Python module"
        return result
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    old_handler = None
    if timeout and hasattr(signal, "SIGALRM"):
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            raise _ImportTimeout(f"importing {path} took longer than {timeout} s")

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(timeout)
    try:
        with collecting() as registered:
            spec.loader.exec_module(module)
    except BaseException as exc:  # the file's code may raise anything, SystemExit included
        if isinstance(exc, KeyboardInterrupt):
            raise
        sys.modules.pop(name, None)
        result.error = traceback.format_exc()
        return result
    finally:
        if old_handler is not None:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old_handler)
    candidates: list[DAG] = list(registered)
    for value in vars(module).values():
        if isinstance(value, DAG) and all(value is not d for d in candidates):
            candidates.append(value)
    errors = []
    seen: set[str] = set()
    for dag in candidates:
        dag.fileloc = path
        try:
            dag.validate()
        except InvalidInput as exc:
            errors.append(f"{type(exc).__name__}: {exc.message}")
            continue
        if dag.dag_id in seen:
            errors.append(f"InvalidInput: DAG id {dag.dag_id!r} is defined twice in {path}")
            continue
        seen.add(dag.dag_id)
        result.dags.append(dag)
    if errors:
        result.error = "\n".join(errors)
    return result


def load_dag(path: str, dag_id: str) -> DAG:
    """The DAG ``dag_id`` from the file at ``path``.

    Raises InvalidInput with the traceback when the file fails to import, NotFound when it
    does not define that DAG.
    """
    result = load_file(path)
    for dag in result.dags:
        if dag.dag_id == dag_id:
            return dag
    if result.error:
        raise InvalidInput(f"DAG file {path} failed to load:\n{result.error}")
    raise NotFound(f"DAG {dag_id!r} not found in {path}")


class DagBag:
    """Every DAG of a folder, loaded in this process, with import errors by file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.dags: dict[str, DAG] = {}
        self.import_errors: dict[str, str] = {}
        self.files = list_dag_files(folder)
        for path in self.files:
            result = load_file(path, timeout=IMPORT_TIMEOUT_SECONDS)
            for dag in result.dags:
                if dag.dag_id in self.dags:
                    other = self.dags[dag.dag_id].fileloc
                    self.import_errors[path] = f"InvalidInput: DAG id {dag.dag_id!r} is already defined in {other}"
                    continue
                self.dags[dag.dag_id] = dag
            if result.error:
                self.import_errors[path] = result.error

    def get_dag(self, dag_id: str) -> DAG:
        try:
            return self.dags[dag_id]
        except KeyError:
            hint = f"; {len(self.import_errors)} file(s) failed to import" if self.import_errors else ""
            raise NotFound(f"DAG {dag_id!r} not found in {self.folder}{hint}") from None


# Parsing in a separate process ---------------------------------------------------------------
@dataclass
class ParseResult:
    """Serialized DAGs (DagSpec dicts) and import errors, by file."""

    specs: list[dict[str, Any]] = field(default_factory=list)
    import_errors: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def _parse_lines(files: list[str]) -> Iterator[str]:
    seen: dict[str, str] = {}
    for path in files:
        result = load_file(path, timeout=IMPORT_TIMEOUT_SECONDS)
        specs = []
        error = result.error
        for dag in result.dags:
            if dag.dag_id in seen:
                error = (error + "\n" if error else "") + (
                    f"InvalidInput: DAG id {dag.dag_id!r} is already defined in {seen[dag.dag_id]}")
                continue
            try:
                specs.append(serialize_dag(dag).to_dict())
                seen[dag.dag_id] = path
            except InvalidInput as exc:
                error = (error + "\n" if error else "") + f"InvalidInput: {exc.message}"
        yield json.dumps({"file": path, "specs": specs, "error": error}, default=str)


class ParseCancelled(Exception):
    """parse_folder was cancelled (the server is stopping): its parsing process was killed and
    nothing it parsed is returned."""


def _communicate(proc: subprocess.Popen[str], timeout: float, cancel: threading.Event | None) -> tuple[str, str]:
    """The child's output once it exits; killed after ``timeout`` s, or at once when ``cancel``
    is set (ParseCancelled): a DAG file that takes long to import must not hold up a stopping
    server (its SIGTERM waited for the import to end)."""
    deadline = time.monotonic() + timeout
    while True:
        step = max(0.0, min(0.2, deadline - time.monotonic())) if cancel is not None else timeout
        try:
            return proc.communicate(timeout=step)
        except subprocess.TimeoutExpired:
            if cancel is not None and cancel.is_set():
                proc.kill()
                proc.communicate()
                raise ParseCancelled(f"parsing stopped: {proc.args!r} killed") from None
            if time.monotonic() >= deadline:
                proc.kill()
                return proc.communicate()


def parse_folder(folder: str, timeout: float = 600.0, airflow_imports: bool = False,
                 cancel: threading.Event | None = None) -> ParseResult:
    """Parse every DAG file of ``folder`` in child processes (see the module docstring); with
    ``airflow_imports``, their ``airflow.*`` imports resolve to trackflow (airflow_shim).
    ParseCancelled as soon as ``cancel`` is set (the child is killed)."""
    files = list_dag_files(folder)
    result = ParseResult(files=list(files))
    remaining = list(files)
    while remaining:
        proc = subprocess.Popen(
            [sys.executable, "-m", "trackflow.pipelines.dagbag", *(["--airflow-imports"] if airflow_imports else []),
             *remaining],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        out, err = _communicate(proc, timeout, cancel)
        done: set[str] = set()
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue
            done.add(item["file"])
            result.specs.extend(item["specs"])
            if item["error"]:
                result.import_errors[item["file"]] = item["error"]
        remaining = [f for f in remaining if f not in done]
        if remaining:
            culprit = remaining.pop(0)
            tail = (err or "").strip()[-4000:]
            result.import_errors[culprit] = (
                f"the parsing process exited with code {proc.returncode} while importing {culprit}"
                + (f":\n{tail}" if tail else "")
            )
    return result


def main(argv: list[str]) -> int:
    # Task output (prints in DAG files) must not corrupt the JSON lines: keep them on stderr.
    real_stdout = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    if argv[:1] == ["--airflow-imports"]:
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.install()
        argv = argv[1:]
    for line in _parse_lines(argv):
        real_stdout.write(line + "\n")
        real_stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
