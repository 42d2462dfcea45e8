"""Python callables run in another interpreter (Airflow's standard provider):
``PythonVirtualenvOperator`` (a virtualenv made with the task's requirements, cached by
their hash with ``venv_cache_path``), ``ExternalPythonOperator`` (an interpreter that exists,
``python=``), and their branch variants.

The callable's source (without its decorators) is written to a script with a loader: the
arguments (``op_args``/``op_kwargs`` and the plain context entries its signature asks for)
go in, the return value comes out, through ``serializer`` (pickle, cloudpickle or dill).
So the function must be self-contained: it imports what it uses inside its body.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import types
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any

from filelock import FileLock

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.exceptions import AirflowException, AirflowSkipException
from trackflow.pipelines.authoring.operators import BranchMixin, PythonOperator

SERIALIZERS = ("pickle", "cloudpickle", "dill")
# context entries that are plain values (Airflow passes these to an isolated callable)
PLAIN_CONTEXT_KEYS = frozenset({
    "ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz", "run_id", "task_instance_key_str", "inlets",
    "outlets", "logical_date", "data_interval_start", "data_interval_end", "run_after", "params", "map_index",
    "templates_dict",
})

_LOADER = """
import sys, traceback
import {serializer} as _serializer

def _main():
    with open(sys.argv[1], "rb") as handle:
        call = _serializer.load(handle)
    with open(sys.argv[3]) as handle:
        global string_args
        string_args = [line for line in handle.read().splitlines() if line]
    try:
        result = {name}(*call["args"], **call["kwargs"])
    except BaseException:
        with open(sys.argv[4], "w") as handle:
            handle.write(traceback.format_exc())
        raise
    with open(sys.argv[2], "wb") as handle:
        _serializer.dump(result, handle)

_main()
"""


def callable_source(function: Callable[..., Any]) -> str:
    """The function's source, dedented, without the decorators above its ``def``."""
    source = textwrap.dedent(inspect.getsource(function))
    node = ast.parse(source).body[0]
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise InvalidInput(f"cannot find the source of function {function.__name__!r}")
    return "\n".join(source.splitlines()[node.lineno - 1:]) + "\n"


class _IsolatedPythonOperator(PythonOperator):
    """What the virtualenv and external-python operators share: the call in a subprocess."""

    def __init__(self, *, python_callable: Callable[..., Any], serializer: str | None = None,
                 string_args: Iterable[str] | None = None, expect_airflow: bool = True,
                 skip_on_exit_code: int | Collection[int] | None = None, env_vars: Mapping[str, str] | None = None,
                 inherit_env: bool = True, **kwargs: Any) -> None:
        if not isinstance(python_callable, types.FunctionType) or python_callable.__name__ == "<lambda>":
            raise InvalidInput(f"{type(self).__name__} runs functions defined with def, not {python_callable!r}")
        if inspect.isgeneratorfunction(python_callable):
            raise InvalidInput(f"{type(self).__name__} does not support 'yield' in python_callable")
        super().__init__(python_callable=python_callable, **kwargs)
        serializer = serializer or "pickle"
        if serializer not in SERIALIZERS:
            raise InvalidInput(f"unsupported serializer {serializer!r}: use one of {', '.join(SERIALIZERS)}")
        self.serializer = serializer
        self.string_args = [str(a) for a in (string_args or [])]
        self.expect_airflow = expect_airflow  # accepted for Airflow's signature: no Airflow is needed
        if skip_on_exit_code is None:
            self.skip_on_exit_code: set[int] = set()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = {skip_on_exit_code}
        else:
            self.skip_on_exit_code = set(skip_on_exit_code)
        self.env_vars = dict(env_vars or {})
        self.inherit_env = inherit_env

    def python_path(self) -> str:
        raise NotImplementedError

    def execute_callable(self, context: dict[str, Any]) -> Any:
        params = inspect.signature(self.python_callable).parameters
        wildcard = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        positional = [p.name for p in params.values()
                      if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        taken = set(positional[: len(self.op_args)]) | set(self.op_kwargs)
        kwargs = dict(self.op_kwargs)
        for key in PLAIN_CONTEXT_KEYS - taken:
            if key in context and (wildcard or key in params):
                value = context[key]
                kwargs[key] = dict(value) if key == "params" else value
        return self.run_in_subprocess(list(self.op_args), kwargs)

    def run_in_subprocess(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        try:
            serializer = __import__(self.serializer)
        except ImportError:
            raise AirflowException(f"serializer {self.serializer!r} of {self.task_id!r} is not installed where "
                                   f"trackflow runs: pip install {self.serializer}") from None
        with tempfile.TemporaryDirectory(prefix="trackflow-call-") as tmp:
            folder = Path(tmp)
            script, given, result, strings, failure = (folder / n for n in (
                "script.py", "call.in", "result.out", "string_args.txt", "termination.log"))
            try:
                given.write_bytes(serializer.dumps({"args": args, "kwargs": kwargs}))
            except Exception as exc:
                raise AirflowException(f"the arguments of {self.task_id!r} cannot be serialized with "
                                       f"{self.serializer}: {exc}") from None
            strings.write_text("\n".join(self.string_args))
            script.write_text(callable_source(self.python_callable)
                              + _LOADER.format(serializer=self.serializer, name=self.python_callable.__name__))
            env = {**(os.environ if self.inherit_env else {}), **self.env_vars}
            proc = subprocess.run([self.python_path(), str(script), str(given), str(result), str(strings),
                                   str(failure)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            sys.stdout.write(proc.stdout.decode(errors="backslashreplace"))
            sys.stdout.flush()
            if proc.returncode in self.skip_on_exit_code:
                raise AirflowSkipException(f"Process exited with code {proc.returncode}. Skipping.")
            if proc.returncode != 0:
                detail = failure.read_text() if failure.exists() else ""
                raise AirflowException(f"Process returned non-zero exit status {proc.returncode}.\n{detail}")
            return serializer.loads(result.read_bytes()) if result.exists() and result.stat().st_size else None


class PythonVirtualenvOperator(_IsolatedPythonOperator):
    """Runs the callable in a virtualenv with ``requirements`` (a list, or a requirements file
    text), made for the try and removed after — or kept in ``venv_cache_path`` and reused by
    every task with the same requirements, Python and options."""

    template_fields = (*PythonOperator.template_fields, "requirements")

    def __init__(self, *, python_callable: Callable[..., Any], requirements: None | Iterable[str] | str = None,
                 python_version: str | None = None, system_site_packages: bool = True,
                 pip_install_options: list[str] | None = None, index_urls: Collection[str] | str | None = None,
                 venv_cache_path: str | os.PathLike[str] | None = None, **kwargs: Any) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if requirements is None:
            self.requirements: list[str] | str = []
        elif isinstance(requirements, str):
            self.requirements = requirements
        else:
            self.requirements = [str(r) for r in requirements]
        self.python_version = str(python_version) if python_version else None
        if self.python_version and not shutil.which(f"python{self.python_version}") \
                and self.python_version != f"{sys.version_info[0]}.{sys.version_info[1]}":
            raise InvalidInput(f"{self.task_id}: no python{self.python_version} on this machine")
        self.system_site_packages = system_site_packages
        self.pip_install_options = list(pip_install_options or [])
        self.index_urls = [index_urls] if isinstance(index_urls, str) else list(index_urls or [])
        self.venv_cache_path = Path(venv_cache_path) if venv_cache_path else None
        self._venv: Path | None = None

    def requirement_lines(self) -> list[str]:
        lines = self.requirements.splitlines() if isinstance(self.requirements, str) else list(self.requirements)
        lines = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if self.serializer != "pickle" and not any(line.startswith(self.serializer) for line in lines):
            lines.append(self.serializer)  # the script needs it in the virtualenv
        return sorted(set(lines))

    def base_python(self) -> str:
        if self.python_version and self.python_version != f"{sys.version_info[0]}.{sys.version_info[1]}":
            return shutil.which(f"python{self.python_version}") or sys.executable
        return getattr(sys, "_base_executable", sys.executable)

    def cache_key(self) -> str:
        spec = json.dumps([self.base_python(), self.requirement_lines(), self.system_site_packages,
                           self.pip_install_options, self.index_urls])
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    def make_venv(self, path: Path) -> None:
        command = [self.base_python(), "-m", "venv", str(path)]
        if self.system_site_packages:
            command.append("--system-site-packages")
        self._check(subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT), "create the virtualenv")
        requirements = self.requirement_lines()
        if requirements:
            index = [f"--index-url={self.index_urls[0]}", *(f"--extra-index-url={u}" for u in self.index_urls[1:])
                     ] if self.index_urls else []
            pip = [str(path / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *index,
                   *self.pip_install_options, *requirements]
            print(f"Installing into the virtualenv: {' '.join(requirements)}", flush=True)
            self._check(subprocess.run(pip, stdout=subprocess.PIPE, stderr=subprocess.STDOUT), "install requirements")

    def _check(self, proc: subprocess.CompletedProcess[bytes], what: str) -> None:
        if proc.returncode != 0:
            raise AirflowException(f"could not {what} for {self.task_id!r}:\n"
                                   f"{proc.stdout.decode(errors='backslashreplace')[-4000:]}")

    def cached_venv(self, cache: Path) -> Path:
        """The cached virtualenv for these requirements, made once (a lock: tasks racing)."""
        path = cache / f"venv-{self.cache_key()}"
        cache.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not (path / "trackflow-venv-ready").exists():
                shutil.rmtree(path, ignore_errors=True)  # a half-made one from a try that died
                self.make_venv(path)
                (path / "trackflow-venv-ready").write_text(json.dumps(self.requirement_lines()))
            else:
                print(f"Reusing the cached virtualenv {path}", flush=True)
        return path

    def python_path(self) -> str:
        assert self._venv is not None
        return str(self._venv / "bin" / "python")

    def execute_callable(self, context: dict[str, Any]) -> Any:
        if self.venv_cache_path is not None:
            self._venv = self.cached_venv(self.venv_cache_path)
            return super().execute_callable(context)
        with tempfile.TemporaryDirectory(prefix="trackflow-venv-") as tmp:
            self._venv = Path(tmp) / "venv"
            self.make_venv(self._venv)
            return super().execute_callable(context)


class ExternalPythonOperator(_IsolatedPythonOperator):
    """Runs the callable with the interpreter ``python`` (a path, e.g. a virtualenv's
    ``bin/python`` made beforehand)."""

    template_fields = (*PythonOperator.template_fields, "python")

    def __init__(self, *, python: str, python_callable: Callable[..., Any], **kwargs: Any) -> None:
        if not python or not isinstance(python, str):
            raise InvalidInput("ExternalPythonOperator needs python=, the path of an interpreter")
        super().__init__(python_callable=python_callable, **kwargs)
        self.python = python

    def python_path(self) -> str:
        if not os.path.exists(self.python):
            raise AirflowException(f"the python binary {self.python!r} of {self.task_id!r} does not exist")
        return self.python


class BranchPythonVirtualenvOperator(BranchMixin, PythonVirtualenvOperator):
    """The callable, in a virtualenv, returns the task id(s) to follow."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class BranchExternalPythonOperator(BranchMixin, ExternalPythonOperator):
    """The callable, with another interpreter, returns the task id(s) to follow."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))
