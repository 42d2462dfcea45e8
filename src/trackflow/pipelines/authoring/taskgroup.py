"""Task groups: a prefix for task ids, shared default_args, and one handle for ``>>``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.dag import current_dag
from trackflow.pipelines.authoring.dependencies import DependencyMixin

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator
    from trackflow.pipelines.authoring.dag import DAG


class TaskGroup(DependencyMixin):
    """``with TaskGroup("extract") as g:`` — tasks created inside get ids ``extract.<task_id>``."""

    def __init__(
        self,
        group_id: str,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
    ) -> None:
        dag = dag or current_dag()
        if dag is None:
            raise InvalidInput(f"TaskGroup {group_id!r} must be created inside a DAG or be given dag=")
        self.dag = dag
        self.parent_group = parent_group or dag.current_group
        base_id = self.parent_group.child_id(group_id) if self.parent_group else group_id
        if add_suffix_on_collision:
            n = 1
            candidate = base_id
            while candidate in dag.task_groups:
                candidate = f"{base_id}__{n}"
                n += 1
            base_id = candidate
        if base_id in dag.task_groups or base_id in dag.task_dict:
            raise InvalidInput(f"group id {base_id!r} is already used in DAG {dag.dag_id!r}")
        self.group_id = base_id
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(default_args or {})
        self.tooltip = tooltip
        dag.task_groups[base_id] = self

    def child_id(self, label: str) -> str:
        return f"{self.group_id}.{label}" if self.prefix_group_id else (
            self.parent_group.child_id(label) if self.parent_group else label
        )

    def all_default_args(self) -> dict[str, Any]:
        merged = self.parent_group.all_default_args() if self.parent_group else {}
        merged.update(self.default_args)
        return merged

    def is_ancestor_of(self, group: TaskGroup | None) -> bool:
        while group is not None:
            if group is self:
                return True
            group = group.parent_group
        return False

    @property
    def tasks(self) -> list[BaseOperator]:
        return [t for t in self.dag.task_dict.values() if self.is_ancestor_of(t.task_group)]

    @property
    def roots(self) -> list[BaseOperator]:
        tasks = self.tasks
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.upstream_task_ids & ids)]

    @property
    def leaves(self) -> list[BaseOperator]:
        tasks = self.tasks
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.downstream_task_ids & ids)]

    def __enter__(self) -> TaskGroup:
        self.dag.group_stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.dag.group_stack.pop()

    def __repr__(self) -> str:
        return f"<TaskGroup {self.group_id}>"


def task_group(
    python_callable: Callable[..., Any] | None = None, **group_kwargs: Any
) -> Any:
    """``@task_group`` decorator: calling the function builds its tasks inside a group.

    Returns what the function returns (e.g. the output of its last task) so it can be
    passed on, or the group itself when the function returns None.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def build(*args: Any, **kwargs: Any) -> Any:
            group = TaskGroup(group_kwargs.get("group_id") or func.__name__, **{
                k: v for k, v in group_kwargs.items() if k != "group_id"
            })
            with group:
                result = func(*args, **kwargs)
            return group if result is None else result

        return build

    if python_callable is not None:
        return decorate(python_callable)
    return decorate
