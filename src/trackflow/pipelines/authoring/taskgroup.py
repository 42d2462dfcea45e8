"""Task groups: a prefix for task ids, shared default_args, and one handle for ``>>``."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.dag import current_dag
from trackflow.pipelines.authoring.dependencies import DependencyMixin
from trackflow.pipelines.authoring.expand_input import ExpandInput
from trackflow.pipelines.authoring.xcom_arg import MappedArgument

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
        doc_md: str | None = None,
        group_display_name: str = "",
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
        if add_suffix_on_collision and base_id in dag.task_groups:
            # as Airflow: one more than the largest suffix used so far (g, g__1, g__2, ...)
            core = re.split(r"__\d+$", base_id)[0]
            pattern = re.compile(rf"^{re.escape(core)}__(\d+)$")
            used = [int(m.group(1)) for gid in dag.task_groups if (m := pattern.match(gid))]
            base_id = f"{core}__{max(used, default=0) + 1}"
        if base_id in dag.task_groups or base_id in dag.task_dict:
            raise InvalidInput(f"group id {base_id!r} is already used in DAG {dag.dag_id!r}")
        self.group_id = base_id
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(default_args or {})
        self.tooltip = tooltip
        self.doc_md = doc_md
        self.display_name = group_display_name or base_id
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
        """The group's last tasks; for a teardown among them, the work before it instead (as
        Airflow: ``group >> next`` makes ``next`` wait for the work, not for the cleanup)."""
        tasks = self.tasks
        ids = {t.task_id for t in tasks}
        found: list[BaseOperator] = []

        def has_work_after(task: BaseOperator, exclude: str) -> bool:
            return any(d.task_id != exclude and d.task_id in ids and not d.is_teardown for d in task.downstream_list)

        def work_before(teardown: BaseOperator) -> None:
            for up in teardown.upstream_list:
                if up.task_id not in ids or (teardown.is_teardown and up.is_setup and not up.is_teardown):
                    continue
                if up.is_teardown:
                    work_before(up)
                elif not has_work_after(up, exclude=teardown.task_id):
                    found.append(up)

        for task in tasks:
            if not (task.downstream_task_ids & ids):
                if task.is_teardown:
                    work_before(task)
                else:
                    found.append(task)
        return list(dict.fromkeys(found))

    def __enter__(self) -> TaskGroup:
        self.dag.group_stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.dag.group_stack.pop()

    @property
    def mapped_group(self) -> MappedTaskGroup | None:
        """The innermost mapped task group this group is, or is inside of."""
        group: TaskGroup | None = self
        while group is not None:
            if isinstance(group, MappedTaskGroup):
                return group
            group = group.parent_group
        return None

    def __repr__(self) -> str:
        return f"<TaskGroup {self.group_id}>"


class MappedTaskGroup(TaskGroup):
    """A task group made by ``group_function.expand(...)``/``.expand_kwargs(...)``: every task in
    it has one task instance per map index of the group, and takes that index's arguments."""

    def __init__(self, group_id: str, expand_input: ExpandInput, **kwargs: Any) -> None:
        super().__init__(group_id, **kwargs)
        self.expand_input = expand_input
        if self.parent_group is not None and self.parent_group.mapped_group is not None:
            raise InvalidInput(f"mapped task group {self.group_id!r} is inside the mapped task group "
                               f"{self.parent_group.mapped_group.group_id!r}: trackflow maps one level of groups")

    def __exit__(self, *exc: object) -> None:
        # the outputs the group is mapped over come before its first tasks (as Airflow)
        for arg in self.expand_input.references():
            self.set_upstream(arg.operator)
        super().__exit__(*exc)


class TaskGroupFunction:
    """A ``@task_group`` function. Calling it builds its tasks in a new group (a second call
    gets the group id suffixed ``__1``, as Airflow); ``.expand()``/``.expand_kwargs()`` build a
    mapped task group, ``.partial()`` fixes arguments for them, ``.override()`` group arguments."""

    def __init__(self, function: Callable[..., Any], group_kwargs: dict[str, Any],
                 partial_kwargs: dict[str, Any] | None = None) -> None:
        self.function = function
        self.group_kwargs = {"group_id": function.__name__, **group_kwargs}
        self.partial_kwargs = dict(partial_kwargs or {})
        self.signature = inspect.signature(function)
        functools.update_wrapper(self, function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._build(None, args, kwargs)

    def override(self, **group_kwargs: Any) -> TaskGroupFunction:
        return TaskGroupFunction(self.function, {**self.group_kwargs, **group_kwargs}, self.partial_kwargs)

    def partial(self, **kwargs: Any) -> TaskGroupFunction:
        self._check_names("partial", kwargs)
        clash = set(kwargs) & set(self.partial_kwargs)
        if clash:
            raise InvalidInput(f"arguments given to partial() twice: {', '.join(sorted(clash))}")
        return TaskGroupFunction(self.function, self.group_kwargs, {**self.partial_kwargs, **kwargs})

    def expand(self, **mapped: Any) -> Any:
        self._check_names("expand", mapped)
        clash = set(mapped) & set(self.partial_kwargs)
        if clash:
            raise InvalidInput(f"arguments given to both partial() and expand(): {', '.join(sorted(clash))}")
        expand_input = ExpandInput.of_lists(f"task group {self.group_kwargs['group_id']!r}", mapped)
        return self._build(expand_input, (), dict(mapped))

    def expand_kwargs(self, kwargs: Any) -> Any:
        if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in self.signature.parameters.values()):
            raise InvalidInput(f"expand_kwargs() of task group {self.group_kwargs['group_id']!r}: its function "
                               "takes *args or **kwargs, so its arguments cannot be known")
        expand_input = ExpandInput.of_dicts(f"task group {self.group_kwargs['group_id']!r}", kwargs)
        # every argument not fixed by partial() may come from the dicts
        names = {name: None for name in self.signature.parameters if name not in self.partial_kwargs}
        return self._build(expand_input, (), names)

    def _check_names(self, method: str, kwargs: dict[str, Any]) -> None:
        params = self.signature.parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return
        unknown = set(kwargs) - set(params)
        if unknown:
            raise InvalidInput(f"{method}() of task group {self.group_kwargs['group_id']!r} got unexpected "
                               f"arguments: {', '.join(sorted(unknown))}")

    def _build(self, expand_input: ExpandInput | None, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the function inside a new group (mapped over ``expand_input`` if given: then
        ``kwargs`` names the arguments that become the map index's values)."""
        options = {k: v for k, v in self.group_kwargs.items() if k != "group_id"}
        options.setdefault("add_suffix_on_collision", True)
        if self.function.__doc__ and not options.get("tooltip"):
            options["tooltip"] = self.function.__doc__
        group_id = self.group_kwargs["group_id"]
        if expand_input is None:
            group = TaskGroup(group_id, **options)
            call_kwargs = {**self.partial_kwargs, **kwargs}
        else:
            group = MappedTaskGroup(group_id, expand_input, **options)
            call_kwargs = {**self.partial_kwargs, **{name: MappedArgument(group, name) for name in kwargs}}
        with group:
            result = self.function(*args, **call_kwargs)
        return group if result is None else result


def task_group(
    python_callable: Callable[..., Any] | None = None, **group_kwargs: Any
) -> Any:
    """``@task_group`` / ``@task_group(group_id=..., ...)``: see :class:`TaskGroupFunction`."""
    if python_callable is not None:
        return TaskGroupFunction(python_callable, group_kwargs)
    return lambda func: TaskGroupFunction(func, group_kwargs)
