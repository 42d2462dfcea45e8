"""TaskFlow: ``@task`` turns a function into a task; calling it inside a DAG wires its inputs.

``@task`` functions return an :class:`XComArg` when called in a DAG; passing it to another
task makes that task downstream and hands it the value. Variants: ``@task.branch``,
``@task.short_circuit``, ``@task.bash`` (the function returns the command to run).
"""

from __future__ import annotations

import functools
import os
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.dag import current_dag
from trackflow.pipelines.authoring.exceptions import AirflowException
from trackflow.pipelines.authoring.expand_input import ExpandInput
from trackflow.pipelines.authoring.isolated_python import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from trackflow.pipelines.authoring.operators import (
    BranchMixin,
    PythonOperator,
    ShortCircuitOperator,
    call_with_context,
    run_bash,
)
from trackflow.pipelines.authoring.sensors import DecoratedSensorOperator
from trackflow.pipelines.authoring.xcom_arg import XComArg


class DecoratedPythonOperator(PythonOperator):
    """The operator behind ``@task``."""

    custom_operator_name = "@task"

    def execute(self, context: dict[str, Any]) -> Any:
        result = super().execute(context)
        if self.multiple_outputs and result is not None and not isinstance(result, dict):
            raise AirflowException(
                f"task {self.task_id!r} has multiple_outputs=True but returned {type(result).__name__}, not a dict"
            )
        return result


class DecoratedBranchOperator(BranchMixin, DecoratedPythonOperator):
    custom_operator_name = "@task.branch"

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class DecoratedShortCircuitOperator(ShortCircuitOperator):
    custom_operator_name = "@task.short_circuit"


class DecoratedBashOperator(DecoratedPythonOperator):
    """``@task.bash``: the function returns a bash command, which is rendered as a template (as
    Airflow) and run, with BashOperator's ``env``/``append_env``/``cwd``/``skip_on_exit_code``."""

    custom_operator_name = "@task.bash"
    template_fields = (*DecoratedPythonOperator.template_fields, "env", "cwd")

    def __init__(self, *, env: dict[str, str] | None = None, append_env: bool = False, output_encoding: str = "utf-8",
                 skip_on_exit_code: int | list[int] | None = 99, cwd: str | None = None,
                 output_processor: Callable[[str], Any] = lambda result: result, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.output_processor = output_processor
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        codes = [] if skip_on_exit_code is None else skip_on_exit_code
        self.skip_on_exit_code = [codes] if isinstance(codes, int) else list(codes)
        self.cwd = cwd

    def execute(self, context: dict[str, Any]) -> Any:
        command = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        if not isinstance(command, str) or not command.strip():
            raise AirflowException(f"@task.bash task {self.task_id!r} must return a non-empty command string")
        command = self.render_template(command, context)
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env} if self.append_env else dict(self.env)
        return self.output_processor(run_bash(command, env, self.cwd, self.output_encoding,
                                              self.skip_on_exit_code, self))


class DecoratedVirtualenvOperator(DecoratedPythonOperator, PythonVirtualenvOperator):
    custom_operator_name = "@task.virtualenv"


class DecoratedExternalPythonOperator(DecoratedPythonOperator, ExternalPythonOperator):
    custom_operator_name = "@task.external_python"


class DecoratedBranchVirtualenvOperator(BranchPythonVirtualenvOperator):
    custom_operator_name = "@task.branch_virtualenv"


class DecoratedBranchExternalPythonOperator(BranchExternalPythonOperator):
    custom_operator_name = "@task.branch_external_python"


def _infer_multiple_outputs(func: Callable[..., Any]) -> bool:
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # unresolvable string annotations: no inference, like Airflow
        return False
    ret = hints.get("return")
    origin = typing.get_origin(ret) or ret
    return origin in (dict, typing.Dict)  # noqa: UP006 - both spellings mean a dict


def _unique_task_id(task_id: str) -> str:
    dag = current_dag()
    if dag is None:
        return task_id
    group = dag.current_group
    full = group.child_id(task_id) if group else task_id
    if full not in dag.task_dict:
        return task_id
    core = re.split(r"__\d+$", task_id)[0]
    full_core = re.split(r"__\d+$", full)[0]
    pattern = re.compile(rf"^{re.escape(full_core)}__(\d+)$")
    suffixes = [int(m.group(1)) for tid in dag.task_dict if (m := pattern.match(tid))]
    return f"{core}__{max(suffixes, default=0) + 1}"


@dataclass(frozen=True)
class Role:
    """``@setup`` or ``@teardown``: what the decorated function's tasks are marked as."""

    teardown: bool
    on_failure_fail_dagrun: bool = False

    def apply(self, operator: BaseOperator) -> None:
        if self.teardown:
            operator.as_teardown(on_failure_fail_dagrun=self.on_failure_fail_dagrun)
        else:
            operator.as_setup()


class TaskDecorator:
    """A ``@task``-decorated function. Call it inside a DAG to add a task."""

    def __init__(
        self,
        function: Callable[..., Any],
        operator_class: type[PythonOperator],
        multiple_outputs: bool | None,
        kwargs: dict[str, Any],
        role: Role | None = None,
    ) -> None:
        self.role = role
        self.function = function
        self.operator_class = operator_class
        self.multiple_outputs = (
            _infer_multiple_outputs(function) if multiple_outputs is None else multiple_outputs
        )
        self.kwargs = kwargs
        functools.update_wrapper(self, function)

    def _operator_kwargs(self, extra: dict[str, Any]) -> dict[str, Any]:
        kwargs = {**self.kwargs, **extra}
        kwargs["task_id"] = _unique_task_id(kwargs.get("task_id") or self.function.__name__)
        kwargs.setdefault("multiple_outputs", self.multiple_outputs)
        if "doc" not in kwargs and "doc_md" not in kwargs and self.function.__doc__:
            kwargs["doc"] = self.function.__doc__.strip()
        return kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        operator = self.operator_class(
            python_callable=self.function, op_args=args, op_kwargs=kwargs, **self._operator_kwargs({})
        )
        return XComArg(self._mark(operator))

    def _mark(self, operator: BaseOperator) -> BaseOperator:
        if self.role is not None:
            self.role.apply(operator)
        return operator

    def override(self, **kwargs: Any) -> TaskDecorator:
        """A copy with operator arguments replaced (task_id, retries, pool, ...)."""
        multiple = kwargs.pop("multiple_outputs", self.multiple_outputs)
        return TaskDecorator(self.function, self.operator_class, multiple, {**self.kwargs, **kwargs}, self.role)

    def partial(self, **kwargs: Any) -> TaskPartial:
        return TaskPartial(self, kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        return TaskPartial(self, {}).expand(**mapped)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        return TaskPartial(self, {}).expand_kwargs(kwargs)


class TaskPartial:
    def __init__(self, decorator: TaskDecorator, fixed: dict[str, Any]) -> None:
        self.decorator = decorator
        self.fixed = fixed

    def expand(self, **mapped: Any) -> XComArg:
        expand_input = ExpandInput.of_lists(f"task {self._name()!r}", mapped)
        clash = set(mapped) & set(self.fixed)
        if clash:
            raise InvalidInput(f"arguments given to both partial() and expand(): {', '.join(sorted(clash))}")
        return self._create(expand_input)

    def expand_kwargs(self, kwargs: Any) -> XComArg:
        """One task instance per dict of ``kwargs`` (a list, or a task output giving one): its
        items are the function's arguments, with those given to ``partial()``."""
        return self._create(ExpandInput.of_dicts(f"task {self._name()!r}", kwargs))

    def _name(self) -> str:
        return str(self.decorator.kwargs.get("task_id") or self.decorator.function.__name__)

    def _create(self, expand_input: ExpandInput) -> XComArg:
        operator: BaseOperator = self.decorator.operator_class(
            python_callable=self.decorator.function,
            op_args=(),
            op_kwargs=dict(self.fixed),
            **self.decorator._operator_kwargs({}),
        )
        operator.expand_input = expand_input
        operator.expand_target = "op_kwargs"
        operator._link_xcom_args([expand_input.value])
        return XComArg(self.decorator._mark(operator))


def _make_decorator(operator_class: type[PythonOperator]) -> Callable[..., Any]:
    def decorator(
        python_callable: Callable[..., Any] | None = None, multiple_outputs: bool | None = None, **kwargs: Any
    ) -> Any:
        if python_callable is not None:
            return TaskDecorator(python_callable, operator_class, multiple_outputs, kwargs)
        return lambda func: TaskDecorator(func, operator_class, multiple_outputs, kwargs)

    return decorator


class _TaskCollection:
    """``task`` itself: ``@task``, ``@task(...)``, ``@task.branch``, ``@task.short_circuit``, ``@task.bash``,
    ``@task.sensor``, ``@task.virtualenv``, ``@task.external_python`` and their branch variants."""

    python = staticmethod(_make_decorator(DecoratedPythonOperator))
    branch = staticmethod(_make_decorator(DecoratedBranchOperator))
    short_circuit = staticmethod(_make_decorator(DecoratedShortCircuitOperator))  # type: ignore[arg-type]
    bash = staticmethod(_make_decorator(DecoratedBashOperator))
    sensor = staticmethod(_make_decorator(DecoratedSensorOperator))  # type: ignore[arg-type]
    virtualenv = staticmethod(_make_decorator(DecoratedVirtualenvOperator))
    external_python = staticmethod(_make_decorator(DecoratedExternalPythonOperator))
    branch_virtualenv = staticmethod(_make_decorator(DecoratedBranchVirtualenvOperator))
    branch_external_python = staticmethod(_make_decorator(DecoratedBranchExternalPythonOperator))

    def __call__(
        self, python_callable: Callable[..., Any] | None = None, multiple_outputs: bool | None = None, **kwargs: Any
    ) -> Any:
        return self.python(python_callable, multiple_outputs=multiple_outputs, **kwargs)


task = _TaskCollection()


def _with_role(func: Any, role: Role) -> TaskDecorator:
    if isinstance(func, TaskDecorator):  # @setup over @task(...) or @task.bash
        return TaskDecorator(func.function, func.operator_class, func.multiple_outputs, func.kwargs, role)
    if not callable(func):
        raise InvalidInput(f"@setup/@teardown decorate a function, got {type(func).__name__}")
    return TaskDecorator(func, DecoratedPythonOperator, None, {}, role)


def setup(python_callable: Callable[..., Any] | None = None) -> Any:
    """``@setup``: a ``@task`` whose tasks are setups (see ``BaseOperator.as_setup``)."""
    role = Role(teardown=False)
    if python_callable is not None:
        return _with_role(python_callable, role)
    return lambda func: _with_role(func, role)


def teardown(python_callable: Callable[..., Any] | None = None, *, on_failure_fail_dagrun: bool = False) -> Any:
    """``@teardown`` / ``@teardown(on_failure_fail_dagrun=True)``: a ``@task`` whose tasks are
    teardowns (see ``BaseOperator.as_teardown``)."""
    role = Role(teardown=True, on_failure_fail_dagrun=on_failure_fail_dagrun)
    if python_callable is not None:
        return _with_role(python_callable, role)
    return lambda func: _with_role(func, role)
