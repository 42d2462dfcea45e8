"""BaseOperator: a task's identity, retry/timeout/pool settings, dependencies and templating.

Operators take keyword arguments only. Values missing from a call are taken from the
DAG's (and enclosing task groups', and the call's own) ``default_args`` for every argument
the operator's ``__init__`` accepts, as in Airflow.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring import setup_teardown
from trackflow.pipelines.authoring.dag import current_dag
from trackflow.pipelines.authoring.dependencies import DependencyMixin, flatten_leaves
from trackflow.pipelines.authoring.expand_input import ExpandInput
from trackflow.pipelines.authoring.params import ParamsDict
from trackflow.pipelines.authoring.priority_strategy import PriorityWeightStrategy, parse_weight_rule
from trackflow.pipelines.authoring.retry_policy import RetryPolicy
from trackflow.pipelines.authoring.trigger_rules import TriggerRule
from trackflow.pipelines.authoring.xcom_arg import XComArg, find_xcom_args

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.dag import DAG
    from trackflow.pipelines.authoring.taskgroup import MappedTaskGroup, TaskGroup

TASK_ID_RE = re.compile(r"^[\w.-]{1,250}$")

# Airflow arguments accepted for compatibility that trackflow does not act on.
_IGNORED_ARGS = {
    "email", "email_on_failure", "email_on_retry", "depends_on_past", "wait_for_downstream", "sla",
    "start_date", "end_date", "run_as_user", "executor_config", "resources",
    "executor", "max_active_tis_per_dag", "max_active_tis_per_dagrun", "ignore_first_depends_on_past",
    "task_concurrency", "do_xcom_push_on_failure", "allow_nested_operators", "task_display_name",
    "logger_name", "on_skipped_callback", "weight_rule_class",
}

Callback = Callable[[dict[str, Any]], Any]


def _asset_list(value: Any, what: str, task_id: str) -> list[Any]:
    """``inlets``/``outlets``: assets or aliases, one or a list (Airflow's forms)."""
    from trackflow.pipelines.authoring.assets import Asset, AssetAlias

    items = [] if value is None else list(value) if isinstance(value, (list, tuple, set)) else [value]
    for item in items:
        if not isinstance(item, (Asset, AssetAlias)):
            raise InvalidInput(f"{what} of task {task_id!r} must be Assets or AssetAliases, got {item!r}")
    return items


class _Mapped:
    """Placeholder for an argument given through ``.expand()``; replaced per map index."""

    def __repr__(self) -> str:
        return "<mapped>"


MAPPED = _Mapped()


def _to_timedelta(name: str, value: Any) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    raise InvalidInput(f"{name} must be a timedelta or a number of seconds, got {value!r}")


def _callbacks(value: Callback | list[Callback] | None) -> list[Callback]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _init_parameters(cls: type) -> Iterator[inspect.Parameter]:
    """The parameters of every ``__init__`` along the operator class's MRO."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None and klass is not object:
            yield from inspect.signature(getattr(init, "__wrapped__", init)).parameters.values()


def _init_params(cls: type) -> set[str]:
    return {p.name for p in _init_parameters(cls)}


def _apply_defaults(cls: type, kwargs: dict[str, Any]) -> dict[str, Any]:
    dag = kwargs.get("dag") or current_dag()
    group = kwargs.get("task_group") or (dag.current_group if dag is not None else None)
    defaults: dict[str, Any] = {}
    if dag is not None:
        defaults.update(dag.default_args)
    if group is not None:
        defaults.update(group.all_default_args())
    defaults.update(kwargs.get("default_args") or {})
    if not defaults:
        return kwargs
    accepted = _init_params(cls)
    merged = dict(kwargs)
    for key, value in defaults.items():
        if key in accepted and key not in merged:
            merged[key] = value
    if "params" in defaults and "params" in kwargs:
        merged["params"] = {**defaults["params"], **kwargs["params"]}
    return merged


def _wrap_init(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if args:
            raise InvalidInput(f"{type(self).__name__} takes keyword arguments only, got positional {args!r}")
        outermost = not self.__dict__.get("_defaults_applied")
        if outermost:
            self.__dict__["_defaults_applied"] = True
            kwargs = _apply_defaults(type(self), kwargs)
        init(self, **kwargs)
        if outermost:  # a task output in any templated field makes its task upstream (as Airflow)
            self._link_xcom_args(getattr(self, name, None) for name in self.template_fields)

    wrapper._applies_defaults = True  # type: ignore[attr-defined]
    return wrapper


class BaseOperator(DependencyMixin):
    """A unit of work in a DAG. Subclasses implement :meth:`execute`."""

    template_fields: tuple[str, ...] = ()
    template_ext: tuple[str, ...] = ()
    ui_color = "#fff"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_applies_defaults", False):
            cls.__init__ = _wrap_init(init)  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "airflow",
        retries: int | None = 0,
        retry_delay: timedelta | float = timedelta(seconds=300),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        retry_policy: RetryPolicy | None = None,
        execution_timeout: timedelta | float | None = None,
        trigger_rule: str | TriggerRule = TriggerRule.ALL_SUCCESS,
        pool: str | None = None,
        pool_slots: int = 1,
        priority_weight: int = 1,
        weight_rule: str | PriorityWeightStrategy = "downstream",
        queue: str = "default",
        params: dict[str, Any] | None = None,
        default_args: dict[str, Any] | None = None,
        dag: DAG | None = None,
        task_group: TaskGroup | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        doc: str | None = None,
        doc_md: str | None = None,
        on_execute_callback: Callback | list[Callback] | None = None,
        on_success_callback: Callback | list[Callback] | None = None,
        on_failure_callback: Callback | list[Callback] | None = None,
        on_retry_callback: Callback | list[Callback] | None = None,
        inlets: Any = None,
        outlets: Any = None,
        pre_execute: Callable[[dict[str, Any]], Any] | None = None,
        post_execute: Callable[[dict[str, Any], Any], Any] | None = None,
        map_index_template: str | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - _IGNORED_ARGS
        if unknown:
            raise InvalidInput(
                f"invalid arguments passed to {type(self).__name__} (task_id {task_id!r}): {', '.join(sorted(unknown))}"
            )
        if not isinstance(task_id, str) or not TASK_ID_RE.match(task_id):
            raise InvalidInput(
                f"invalid task_id {task_id!r}: use up to 250 letters, digits, '_', '-' and '.'"
            )
        dag = dag or current_dag()
        group = task_group or (dag.current_group if dag is not None else None)
        self.task_group = group
        self.task_id = group.child_id(task_id) if group is not None else task_id
        self.owner = owner
        self.retries = int(retries or 0)
        if self.retries < 0:
            raise InvalidInput(f"retries of task {self.task_id!r} must be >= 0, got {retries}")
        self.retry_delay = _to_timedelta("retry_delay", retry_delay) or timedelta(0)
        self.retry_exponential_backoff = bool(retry_exponential_backoff)
        self.max_retry_delay = _to_timedelta("max_retry_delay", max_retry_delay)
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise InvalidInput(f"retry_policy of task {self.task_id!r} must be a RetryPolicy, got {retry_policy!r}")
        self.retry_policy = retry_policy
        self.execution_timeout = _to_timedelta("execution_timeout", execution_timeout)
        self.trigger_rule = TriggerRule.parse(trigger_rule)
        self.pool = pool or "default_pool"
        if pool_slots < 1:
            raise InvalidInput(f"pool_slots of task {self.task_id!r} must be >= 1, got {pool_slots}")
        self.pool_slots = pool_slots
        self.priority_weight = int(priority_weight)
        self.weight_rule = parse_weight_rule(weight_rule, self.task_id)
        self.queue = queue
        self.params = ParamsDict(params)
        self.do_xcom_push = do_xcom_push
        self.multiple_outputs = multiple_outputs
        self.doc = doc or doc_md
        self.on_execute_callback = _callbacks(on_execute_callback)
        self.on_success_callback = _callbacks(on_success_callback)
        self.on_failure_callback = _callbacks(on_failure_callback)
        self.on_retry_callback = _callbacks(on_retry_callback)
        self.inlets = _asset_list(inlets, "inlets", self.task_id)
        self.outlets = _asset_list(outlets, "outlets", self.task_id)
        if map_index_template is not None and not isinstance(map_index_template, str):
            raise InvalidInput(f"map_index_template of task {self.task_id!r} must be a template string, "
                               f"got {type(map_index_template).__name__}")
        self.map_index_template = map_index_template  # names a map index: rendered after the try
        self._pre_execute_hook = pre_execute
        self._post_execute_hook = post_execute
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.expand_input: ExpandInput | None = None  # set by .expand() / .expand_kwargs()
        self.expand_target = "operator"  # or "op_kwargs" for TaskFlow tasks
        self.is_setup = False
        self.is_teardown = False
        self.on_failure_fail_dagrun = False  # a failed teardown fails the run only with this set
        self.dag: DAG | None = None
        if dag is not None:
            dag.add_task(self)
            if dag.setup_teardown_scopes:
                dag.setup_teardown_scopes[-1].work.append(self)

    # Execution -----------------------------------------------------------------------------
    def execute(self, context: dict[str, Any]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    def pre_execute(self, context: dict[str, Any]) -> None:
        """Called right before execute(): runs the ``pre_execute=`` callable, if any."""
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def post_execute(self, context: dict[str, Any], result: Any = None) -> None:
        """Called right after execute() returned: runs the ``post_execute=`` callable, if any."""
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def on_kill(self) -> None:
        """Called when the task is stopped (timeout or external kill)."""

    def defer(self, *, trigger: Any, method_name: str, kwargs: dict[str, Any] | None = None,
              timeout: timedelta | int | float | None = None) -> NoReturn:
        """End this try without holding a worker slot until ``trigger`` fires; the task then
        resumes in ``method_name(context, event=<the event's payload>, **kwargs)`` (Airflow's
        deferral). ``timeout``: fail the task if the trigger has not fired by then."""
        from trackflow.pipelines.authoring.exceptions import TaskDeferred

        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None,
                         context: dict[str, Any]) -> Any:
        """Go on after a deferral: call ``next_method`` with the trigger's event (Airflow's name)."""
        from trackflow.pipelines.authoring.exceptions import TaskDeferralError, TaskDeferralTimeout

        if next_method == "__fail__":
            error = (next_kwargs or {}).get("error", "unknown")
            if error == "trigger timeout":
                raise TaskDeferralTimeout("the trigger did not fire within the deferral's timeout")
            raise TaskDeferralError(f"the trigger failed: {error}")
        method = getattr(self, next_method, None)
        if not callable(method):
            raise InvalidInput(f"{type(self).__name__} has no method {next_method!r} to resume with")
        return method(context, **(next_kwargs or {}))

    def render_template_fields(self, context: dict[str, Any]) -> None:
        """Render every attribute named in ``template_fields`` in place."""
        if not self.template_fields:
            return
        from trackflow.pipelines.authoring import templating  # jinja2 is loaded only when rendering

        env = None  # made only when there is text to render (most python_callable arguments have none)
        for name in self.template_fields:
            value = getattr(self, name, None)
            if value is not None:
                if env is None and templating.contains_text(value):
                    env = templating.template_env(self.dag)
                setattr(self, name, templating.render(value, context, env, self.template_ext))

    def render_template(self, content: Any, context: dict[str, Any]) -> Any:
        """Render ``content`` (a string, or strings inside lists, dicts, tuples and sets) with
        ``context``, as the task's templated fields are (Airflow's ``render_template``)."""
        from trackflow.pipelines.authoring import templating

        env = templating.template_env(self.dag) if templating.contains_text(content) else None
        return templating.render(content, context, env, self.template_ext)

    # Dependencies --------------------------------------------------------------------------
    @property
    def roots(self) -> list[BaseOperator]:
        return [self]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self]

    @property
    def output(self) -> XComArg:
        return XComArg(self)

    @property
    def is_mapped(self) -> bool:
        return self.expand_input is not None

    @property
    def mapped_group(self) -> MappedTaskGroup | None:
        """The mapped task group this task is in (its map indexes are the group's), if any."""
        return self.task_group.mapped_group if self.task_group is not None else None

    # Setup and teardown ------------------------------------------------------------------------
    def as_setup(self) -> BaseOperator:
        """Mark this task a setup: teardowns after it run even if the work between fails."""
        self.is_setup = True
        return self

    def as_teardown(self, *, setups: Any = None, on_failure_fail_dagrun: bool | None = None) -> BaseOperator:
        """Mark this task a teardown of ``setups`` (made setups, and upstream of it): it runs once
        the work is done if one of its setups succeeded (``all_done_setup_success``), and its
        failure fails the run only with ``on_failure_fail_dagrun``."""
        self.is_teardown = True
        self.trigger_rule = TriggerRule.ALL_DONE_SETUP_SUCCESS
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for setup in flatten_leaves(setups):
                setup.is_setup = True
                setup >> self
        return self

    def __enter__(self) -> Any:
        return setup_teardown.enter(self)

    def __exit__(self, *exc: object) -> None:
        setup_teardown.leave(self)

    @property
    def upstream_list(self) -> list[BaseOperator]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.downstream_task_ids)]

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def _link_xcom_args(self, values: Iterable[Any]) -> None:
        for value in values:
            for arg in find_xcom_args(value):
                arg.operator.set_downstream(self)

    # Mapping -------------------------------------------------------------------------------
    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """``Op.partial(task_id=..., fixed=1).expand(mapped=[...])``: one task instance per value."""
        if "task_id" not in kwargs:
            raise InvalidInput(f"{cls.__name__}.partial() needs a task_id")
        return OperatorPartial(cls, kwargs)

    def unmap(self, values: dict[str, Any]) -> BaseOperator:
        """A copy of this mapped task with the expanded arguments set for one map index."""
        clone = copy.copy(self)
        clone.expand_input = None
        if self.expand_target == "op_kwargs":
            clone.op_kwargs = {**clone.op_kwargs, **values}  # type: ignore[attr-defined]
        else:
            for name, value in values.items():
                setattr(clone, name, value)
        return clone

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"


class OperatorPartial:
    """The result of ``Op.partial(...)``: call ``.expand(...)`` to create the mapped task."""

    def __init__(self, operator_class: type[BaseOperator], kwargs: dict[str, Any]) -> None:
        self.operator_class = operator_class
        self.kwargs = kwargs

    def expand(self, **mapped: Any) -> BaseOperator:
        expand_input = ExpandInput.of_lists(f"task {self.kwargs.get('task_id', '?')!r}", mapped)
        clash = set(mapped) & set(self.kwargs)
        if clash:
            raise InvalidInput(f"arguments given to both partial() and expand(): {', '.join(sorted(clash))}")
        return self._create(expand_input, mapped)

    def expand_kwargs(self, kwargs: Any) -> BaseOperator:
        """``Op.partial(task_id=...).expand_kwargs([{...}, {...}])`` (or a task output giving such
        a list): one task instance per dict, its items as the operator's arguments."""
        expand_input = ExpandInput.of_dicts(f"task {self.kwargs.get('task_id', '?')!r}", kwargs)
        # the arguments come at run time; the operator's required ones wait as placeholders
        return self._create(expand_input, dict.fromkeys(_required_params(self.operator_class) - set(self.kwargs)))

    def _create(self, expand_input: ExpandInput, mapped_names: dict[str, Any]) -> BaseOperator:
        placeholders: dict[str, Any] = {name: MAPPED for name in mapped_names}
        operator = self.operator_class(**self.kwargs, **placeholders)
        operator.expand_input = expand_input
        operator._link_xcom_args([expand_input.value])
        return operator


def _required_params(cls: type) -> set[str]:
    """Keyword parameters of the operator's ``__init__`` methods that have no default."""
    return {p.name for p in _init_parameters(cls) if p.default is p.empty
            and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name not in ("self", "task_id")}


BaseOperator.__init__ = _wrap_init(BaseOperator.__init__)  # type: ignore[method-assign]
