"""The standard operators: Python, Bash, Empty, branching and short-circuiting."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.baseoperator import MAPPED, BaseOperator
from trackflow.pipelines.authoring.exceptions import AirflowException, AirflowSkipException


def call_with_context(func: Callable[..., Any], args: Iterable[Any], kwargs: Mapping[str, Any],
                      context: Mapping[str, Any]) -> Any:
    """Call ``func(*args, **kwargs)`` adding the context entries its signature asks for
    (every entry when it takes ``**kwargs``), as Airflow does."""
    signature = inspect.signature(func)
    params = signature.parameters
    args = list(args)
    wildcard = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    positional = [p.name for p in params.values()
                  if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    taken = set(positional[: len(args)]) | set(kwargs)
    extra = {k: v for k, v in context.items() if k not in taken and (wildcard or k in params)}
    return func(*args, **kwargs, **extra)


class PythonOperator(BaseOperator):
    """Calls ``python_callable(*op_args, **op_kwargs)``; its return value is the task's output."""

    template_fields: tuple[str, ...] = ("templates_dict", "op_args", "op_kwargs")
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Iterable[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: list[str] | None = None,
        show_return_value_in_logs: bool = True,
        trace: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.trace = trace  # record each try as a trace (spans of @trackflow.trace calls inside nest in it)
        if python_callable is not MAPPED and not callable(python_callable):
            raise InvalidInput(f"python_callable of task {self.task_id!r} is not callable: {python_callable!r}")
        self.python_callable = python_callable
        # .expand(op_args=...) / .expand(op_kwargs=...) leave the MAPPED placeholder until unmapped
        self.op_args: Any = list(op_args or []) if op_args is not MAPPED else op_args
        self.op_kwargs: Any = dict(op_kwargs or {}) if op_kwargs is not MAPPED else op_kwargs
        self.templates_dict = templates_dict
        if templates_exts:
            self.template_ext = tuple(templates_exts)
        self.show_return_value_in_logs = show_return_value_in_logs
        self._link_xcom_args([self.op_args, self.op_kwargs])

    def execute(self, context: dict[str, Any]) -> Any:
        context = {**context, "templates_dict": self.templates_dict}
        result = self.execute_callable(context)
        if self.show_return_value_in_logs and result is not None:
            text = repr(result)
            print(f"Done. Returned value was: {text[:1000]}{'...' if len(text) > 1000 else ''}")
        return result

    def execute_callable(self, context: dict[str, Any]) -> Any:
        if not self.trace:
            return self._call(context)
        from trackflow.tracing.api import start_span  # OpenTelemetry loads only for traced tasks

        with start_span(self.task_id, span_type="CHAIN") as span:
            span.set_inputs({"args": self.op_args, "kwargs": self.op_kwargs})
            result = self._call(context)
            span.set_outputs(result)
            return result

    def _call(self, context: dict[str, Any]) -> Any:
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if inspect.iscoroutine(result):  # an ``async def`` task runs to its end in an event loop of its own
            result = asyncio.run(result)
        if inspect.isgenerator(result):  # yields Metadata for its outlets (Airflow 3)
            return _drain_metadata(result, context)
        return result


def _drain_metadata(generator: Any, context: dict[str, Any]) -> Any:
    """Run a task function that yields ``Metadata``: each one becomes the extra of its asset's
    event (or, with an alias, an event added through it); returns the function's return value."""
    from trackflow.pipelines.authoring.assets import Metadata

    events = context.get("outlet_events")
    try:
        while True:
            item = next(generator)
            if isinstance(item, Metadata) and events is not None:
                if item.alias is not None:
                    events[item.alias].add(item.asset, item.extra)
                else:
                    events[item.asset].extra.update(item.extra)
    except StopIteration as stop:
        return stop.value


class EmptyOperator(BaseOperator):
    """Does nothing. The scheduler marks it successful without starting a process."""

    ui_color = "#e8f7e4"

    def execute(self, context: dict[str, Any]) -> None:
        return None


class BashOperator(BaseOperator):
    """Runs ``bash_command`` with bash; the last line of output is the task's output.

    Exit code ``skip_on_exit_code`` (99) ends the task as skipped; any other non-zero
    exit code fails it. ``env`` replaces the environment unless ``append_env=True``.
    """

    template_fields: tuple[str, ...] = ("bash_command", "env", "cwd")
    template_ext: tuple[str, ...] = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | Iterable[int] | None = 99,
        cwd: str | None = None,
        output_processor: Callable[[str], Any] = lambda result: result,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        if skip_on_exit_code is None:
            self.skip_on_exit_code: list[int] = []
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = [skip_on_exit_code]
        else:
            self.skip_on_exit_code = list(skip_on_exit_code)
        self.cwd = cwd
        self.output_processor = output_processor

    def execute(self, context: dict[str, Any]) -> Any:
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env} if self.append_env else dict(self.env)
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise AirflowException(f"cwd {self.cwd!r} of task {self.task_id!r} is not a directory")
        last_line = run_bash(self.bash_command, env, self.cwd, self.output_encoding, self.skip_on_exit_code, self)
        return self.output_processor(last_line)

    def on_kill(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()


def run_bash(command: str, env: dict[str, str] | None, cwd: str | None, encoding: str,
             skip_codes: Iterable[int], owner: Any = None) -> str:
    """Run ``command`` with bash, echoing its output; return the last line.

    Raises AirflowSkipException for an exit code in ``skip_codes``, AirflowException for
    any other non-zero one.
    """
    bash = shutil.which("bash") or "/bin/bash"
    print(f"Running command: {command}", flush=True)
    proc = subprocess.Popen([bash, "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env=env, cwd=cwd)
    if owner is not None:
        owner._proc = proc  # so on_kill can stop it
    last_line = ""
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(encoding, errors="backslashreplace").rstrip("\n")
        print(line, flush=True)
        last_line = line
    code = proc.wait()
    if code in skip_codes:
        raise AirflowSkipException(f"Bash command returned exit code {code}. Skipping.")
    if code != 0:
        raise AirflowException(f"Bash command failed. The command returned a non-zero exit code {code}.")
    return last_line


class BranchMixin:
    """Skips the direct downstream tasks that were not chosen."""

    def do_branch(self, context: dict[str, Any], branches: str | Iterable[str] | None) -> Any:
        op: BaseOperator = self  # type: ignore[assignment]
        assert op.dag is not None
        if branches is None:
            chosen: set[str] = set()
        elif isinstance(branches, str):
            chosen = {branches}
        else:
            chosen = set(branches)
        valid = set(op.dag.task_dict) | set(op.dag.task_groups)
        invalid = sorted(chosen - valid)
        if invalid:
            raise AirflowException(
                f"branch task {op.task_id!r} returned unknown task id(s): {', '.join(invalid)}"
            )
        followed: set[str] = set()
        for item in chosen:
            if item in op.dag.task_groups:
                followed.update(t.task_id for t in op.dag.task_groups[item].roots)
            else:
                followed.add(item)
        to_skip = sorted(op.downstream_task_ids - followed)
        if to_skip:
            context["ti"].skip_tasks(to_skip)
        return branches


class BranchPythonOperator(BranchMixin, PythonOperator):
    """The callable returns the task id(s) to follow; other direct downstream tasks are skipped."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class ShortCircuitOperator(PythonOperator):
    """When the callable's result is falsy, downstream tasks are skipped.

    ``ignore_downstream_trigger_rules=True`` (default) skips everything downstream;
    ``False`` skips only the direct downstream tasks and lets trigger rules decide the rest.
    """

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: dict[str, Any]) -> Any:
        condition = super().execute(context)
        if condition:
            print("Condition result is truthy: proceeding with downstream tasks.")
            return condition
        assert self.dag is not None
        if self.ignore_downstream_trigger_rules:
            to_skip: set[str] = set()
            stack = list(self.downstream_task_ids)
            while stack:
                tid = stack.pop()
                if tid not in to_skip:
                    to_skip.add(tid)
                    stack.extend(self.dag.task_dict[tid].downstream_task_ids)
        else:
            to_skip = set(self.downstream_task_ids)
        print(f"Condition result is falsy: skipping {', '.join(sorted(to_skip)) or 'nothing'}.")
        if to_skip:
            context["ti"].skip_tasks(sorted(to_skip))
        return condition
