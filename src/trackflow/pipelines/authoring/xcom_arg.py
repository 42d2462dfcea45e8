"""Task outputs used as arguments of other tasks (Airflow's ``XComArg``).

``train()`` inside a DAG returns an :class:`XComArg`; passing it to another task makes that
task downstream and hands it the value at run time. ``out["key"]`` selects one entry of a
``multiple_outputs`` task.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from trackflow.pipelines.authoring.dependencies import DependencyMixin

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator
    from trackflow.pipelines.authoring.taskgroup import MappedTaskGroup

RETURN_VALUE = "return_value"


class XComArg(DependencyMixin):
    def __init__(self, operator: BaseOperator, key: str = RETURN_VALUE) -> None:
        self.operator = operator
        self.key = key

    @property
    def roots(self) -> list[BaseOperator]:
        return [self.operator]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("a task output is not iterable while the DAG is defined; use .expand() to map over it")

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, key={self.key!r})"

    # Setup and teardown: the task behind the output (TaskFlow's spelling of the operator's methods)
    def as_setup(self) -> XComArg:
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> XComArg:
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self) -> Any:
        return self.operator.__enter__()

    def __exit__(self, *exc: object) -> None:
        self.operator.__exit__(*exc)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XComArg) and other.operator is self.operator and other.key == self.key

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))


class MappedArgument:
    """An argument of a mapped task group's function (``group.expand(x=...)``): inside the
    group it stands for the value of the running map index, which tasks taking it receive."""

    def __init__(self, group: MappedTaskGroup, key: str) -> None:
        self.group = group
        self.key = key

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("a mapped task group's argument is not iterable while the DAG is defined")

    def __repr__(self) -> str:
        return f"MappedArgument({self.group.group_id!r}, {self.key!r})"


def find_xcom_args(value: Any) -> list[XComArg]:
    """Every XComArg nested in lists, tuples, sets and dict values of ``value`` (for a mapped
    group's argument, the outputs its group is expanded over)."""
    found: list[XComArg] = []

    def visit(item: Any) -> None:
        if isinstance(item, XComArg):
            found.append(item)
        elif isinstance(item, MappedArgument):
            found.extend(item.group.expand_input.references())
        elif isinstance(item, (list, tuple, set)):
            for x in item:
                visit(x)
        elif isinstance(item, dict):
            for x in item.values():
                visit(x)

    visit(value)
    return found


def resolve_xcom_args(value: Any, fetch: Callable[[Any], Any]) -> Any:
    """``value`` with every nested XComArg (and mapped group argument) replaced by ``fetch(arg)``."""
    if isinstance(value, (XComArg, MappedArgument)):
        return fetch(value)
    if isinstance(value, list):
        return [resolve_xcom_args(x, fetch) for x in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(x, fetch) for x in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, fetch) for k, v in value.items()}
    return value
