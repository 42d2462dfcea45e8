"""The DAG: a set of tasks with dependencies, a schedule and run-level settings.

``with DAG(...)`` and ``@dag`` make tasks created inside join the DAG. DAGs built while a
DAG file is being loaded register themselves (Airflow 3's auto-registration), so a ``@dag``
function called at module level is found even if its result is not assigned.
"""

from __future__ import annotations

import collections
import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.authoring.params import ParamsDict
from trackflow.pipelines.scheduler.timetables import (
    UTC,
    Timetable,
    as_aware,
    parse_tz,
    timetable_from_schedule,
)

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator
    from trackflow.pipelines.authoring.setup_teardown import SetupTeardownScope
    from trackflow.pipelines.authoring.taskgroup import TaskGroup

DAG_ID_RE = re.compile(r"^[\w.-]{1,250}$")

# The DAG(s) currently open as context managers. Module-level because that is how the
# ``with DAG(...):`` authoring API works (as in Airflow); it only ever holds DAGs while a
# DAG file is being executed, and is a stack so nested definitions work.
_DAG_STACK: list[DAG] = []
# DAGs created while a DAG file is loaded (None when no load is in progress); see collecting().
_COLLECTED: list[list[DAG]] = []


def current_dag() -> DAG | None:
    return _DAG_STACK[-1] if _DAG_STACK else None


@contextmanager
def collecting() -> Iterator[list[DAG]]:
    """Collect every DAG created inside the block (used by the DAG file loader)."""
    bucket: list[DAG] = []
    _COLLECTED.append(bucket)
    try:
        yield bucket
    finally:
        _COLLECTED.pop()


class DAG:
    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        schedule: Any = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        default_args: dict[str, Any] | None = None,
        catchup: bool = False,
        max_active_runs: int | None = None,
        max_active_tasks: int = 16,
        dagrun_timeout: timedelta | None = None,
        params: dict[str, Any] | None = None,
        tags: list[str] | set[str] | None = None,
        doc_md: str | None = None,
        template_searchpath: str | list[str] | None = None,
        template_undefined: Any = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Any] | None = None,
        render_template_as_native_obj: bool = False,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        is_paused_upon_creation: bool | None = None,
        experiment_name: str | None = None,
        owner_links: dict[str, str] | None = None,
        access_control: Any = None,
        fail_fast: bool = False,
        auto_register: bool = True,
        dag_display_name: str | None = None,
        timezone: str | tzinfo | None = None,
    ) -> None:
        if not isinstance(dag_id, str) or not DAG_ID_RE.match(dag_id):
            raise InvalidInput(f"invalid dag_id {dag_id!r}: use up to 250 letters, digits, '_', '-' and '.'")
        self.dag_id = dag_id
        self.description = description
        self.default_args = dict(default_args or {})
        start_date = start_date or self.default_args.get("start_date")
        end_date = end_date or self.default_args.get("end_date")
        if isinstance(timezone, str):
            timezone = parse_tz(timezone)
        self.timezone: tzinfo = timezone or (start_date.tzinfo if start_date and start_date.tzinfo else UTC)
        self.start_date = as_aware(start_date, self.timezone) if start_date else None
        self.end_date = as_aware(end_date, self.timezone) if end_date else None
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise InvalidInput(f"DAG {dag_id!r}: end_date {end_date} is before start_date {start_date}")
        self.schedule = schedule
        try:
            self.timetable: Timetable = timetable_from_schedule(schedule, self.timezone)
        except InvalidInput as exc:
            raise InvalidInput(f"DAG {dag_id!r}: {exc.message}") from None
        self.catchup = catchup
        if max_active_runs is None:  # as Airflow: a timetable of your own may set the default (active_runs_limit)
            max_active_runs = getattr(getattr(self.timetable, "user", None), "active_runs_limit", None) or 16
        if max_active_runs < 1 or max_active_tasks < 1:
            raise InvalidInput(f"DAG {dag_id!r}: max_active_runs and max_active_tasks must be >= 1")
        self.max_active_runs = max_active_runs
        self.max_active_tasks = max_active_tasks
        self.dagrun_timeout = dagrun_timeout
        self.params = ParamsDict(params)
        self.tags = sorted(set(tags or ()))
        self.doc_md = doc_md
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.template_undefined = template_undefined  # None: jinja2.StrictUndefined
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.render_template_as_native_obj = render_template_as_native_obj
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.is_paused_upon_creation = is_paused_upon_creation
        self.experiment_name = experiment_name
        self.owner_links = owner_links or {}
        self.fail_fast = fail_fast
        self.display_name = dag_display_name or dag_id
        self.task_dict: dict[str, BaseOperator] = {}
        self.task_groups: dict[str, TaskGroup] = {}
        self.group_stack: list[TaskGroup] = []
        self.setup_teardown_scopes: list[SetupTeardownScope] = []  # open ``with setup >> teardown:``
        self.fileloc = _caller_file()
        if auto_register and _COLLECTED:
            _COLLECTED[-1].append(self)

    # Context manager -------------------------------------------------------------------------
    def __enter__(self) -> DAG:
        _DAG_STACK.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _DAG_STACK.pop()

    @property
    def current_group(self) -> TaskGroup | None:
        return self.group_stack[-1] if self.group_stack else None

    # Tasks -------------------------------------------------------------------------------------
    def add_task(self, task: BaseOperator) -> None:
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise InvalidInput(f"task id {task.task_id!r} has already been added to the DAG {self.dag_id!r}")
        if task.task_id in self.task_groups:
            raise InvalidInput(f"task id {task.task_id!r} clashes with a task group of DAG {self.dag_id!r}")
        self.task_dict[task.task_id] = task
        task.dag = self

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def get_task(self, task_id: str) -> BaseOperator:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise NotFound(f"task {task_id!r} not found in DAG {self.dag_id!r}") from None

    @property
    def roots(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    def topological_order(self) -> list[str]:
        """Task ids, upstream first (stable: definition order breaks ties).

        Raises InvalidInput naming a cycle's tasks when there is one.
        """
        indegree = {tid: len(t.upstream_task_ids) for tid, t in self.task_dict.items()}
        position = {tid: i for i, tid in enumerate(self.task_dict)}
        ready = collections.deque(tid for tid, n in indegree.items() if n == 0)
        order: list[str] = []
        while ready:
            tid = ready.popleft()
            order.append(tid)
            for down in sorted(self.task_dict[tid].downstream_task_ids, key=position.__getitem__):
                indegree[down] -= 1
                if indegree[down] == 0:
                    ready.append(down)
        if len(order) != len(self.task_dict):
            raise InvalidInput(f"cycle detected in DAG {self.dag_id!r}: {' -> '.join(self._find_cycle())}")
        return order

    def _find_cycle(self) -> list[str]:
        visiting: list[str] = []
        done: set[str] = set()

        def visit(tid: str) -> list[str] | None:
            if tid in visiting:
                return visiting[visiting.index(tid):] + [tid]
            if tid in done:
                return None
            visiting.append(tid)
            for down in sorted(self.task_dict[tid].downstream_task_ids):
                found = visit(down)
                if found:
                    return found
            visiting.pop()
            done.add(tid)
            return None

        for tid in self.task_dict:
            found = visit(tid)
            if found:
                return found
        return []

    def validate(self) -> None:
        """Raise InvalidInput for a cycle, a dangling dependency, invalid params defaults, a
        setup task followed by a work task whose trigger rule is not all_success, or a task with
        trigger rule always in a group mapped over a task's output."""
        for task in self.task_dict.values():
            for other in task.upstream_task_ids | task.downstream_task_ids:
                if other not in self.task_dict:
                    raise InvalidInput(f"task {task.task_id!r} depends on unknown task {other!r}")
            group = task.mapped_group
            if group is not None and task.trigger_rule == "always" and group.expand_input.references():
                # as Airflow: it would run before the output that sets its map indexes exists
                raise InvalidInput(f"task {task.task_id!r} has trigger rule 'always' in the mapped task group "
                                   f"{group.group_id!r}, which is mapped over a task's output: not allowed")
            if task.is_setup:
                # as Airflow: clearing a work task clears its setups, whose direct work must then wait for them
                for down in task.downstream_list:
                    if not down.is_teardown and down.trigger_rule != "all_success":
                        raise InvalidInput(f"setup task {task.task_id!r} is followed by {down.task_id!r} with "
                                           f"trigger rule {down.trigger_rule.value!r}: tasks right after a setup "
                                           "must use all_success")
        self.topological_order()

    def test(self, logical_date: datetime | None = None, conf: dict[str, Any] | None = None) -> Any:
        """Run one DAG run of this DAG right here, like ``trackflow dags test``."""
        # The runtime is imported here so that authoring stays free of storage imports.
        from trackflow.pipelines.runtime.dag_test import test_dag

        return test_dag(self, logical_date=logical_date, conf=conf)

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"


def _caller_file() -> str:
    frame = sys._getframe(1)
    here = __file__
    while frame is not None and (frame.f_code.co_filename == here or "/pipelines/authoring/" in
                                 frame.f_code.co_filename.replace("\\", "/")):
        frame = frame.f_back  # type: ignore[assignment]
    return frame.f_code.co_filename if frame is not None else ""


def dag(dag_id: Any = None, **dag_kwargs: Any) -> Any:
    """``@dag`` / ``@dag(schedule=...)``: calling the function builds and returns the DAG.

    The function's docstring becomes ``doc_md`` and its name the dag_id unless given.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., DAG]:
        @functools.wraps(func)
        def build(*args: Any, **kwargs: Any) -> DAG:
            kw = dict(dag_kwargs)
            kw.setdefault("doc_md", inspect.getdoc(func))
            the_dag = DAG(dag_id=name or func.__name__, **kw)
            the_dag.fileloc = inspect.getsourcefile(func) or the_dag.fileloc
            with the_dag:
                func(*args, **kwargs)
            return the_dag

        return build

    if callable(dag_id):  # bare @dag
        name = None
        return decorate(dag_id)
    name = dag_id
    return decorate
