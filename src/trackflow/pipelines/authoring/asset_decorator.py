"""``@asset`` (Airflow 3): a function that makes an asset. The decorated name is an
``AssetDefinition`` — an Asset (so DAGs can be scheduled on it and tasks can name it) — and
also a DAG of that name with one task of that name whose outlet is the asset, run on
``schedule``. The function's parameters: ``self`` (the asset), ``context`` (the task's
context), and any other name: the asset of that name, which becomes an inlet of the task
(``context["inlet_events"][param]`` reads its events). Its return value is the task's output.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.assets import Asset
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.dag import DAG

_SPECIAL = ("self", "context")


class _AssetMainOperator(BaseOperator):
    """The one task of an ``@asset`` DAG."""

    custom_operator_name = "@asset"

    def __init__(self, *, definition: AssetDefinition, **kwargs: Any) -> None:
        super().__init__(outlets=[definition], inlets=list(definition.inlet_assets.values()), **kwargs)
        self.definition = definition

    def execute(self, context: dict[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for name in inspect.signature(self.definition.function).parameters:
            if name == "self":
                values[name] = self.definition
            elif name == "context":
                values[name] = context
            else:
                values[name] = self.definition.inlet_assets[name]
        return self.definition.function(**values)


class AssetDefinition(Asset):
    def __init__(self, function: Callable[..., Any], *, schedule: Any, name: str | None = None,
                 uri: str | None = None, group: str = "asset", extra: dict[str, Any] | None = None,
                 **dag_kwargs: Any) -> None:
        if not callable(function):
            raise InvalidInput(f"@asset decorates a function, not {function!r}")
        super().__init__(name=name or function.__name__, uri=uri, group=group, extra=extra)
        self.function = function
        params = inspect.signature(function).parameters
        for p in params.values():
            if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                raise InvalidInput(f"@asset {self.name!r}: *args and **kwargs cannot name assets")
        self.inlet_assets = {p: Asset(name=p) for p in params if p not in _SPECIAL}
        self.dag = DAG(dag_id=self.name, schedule=schedule, **dag_kwargs)
        self.dag.fileloc = inspect.getsourcefile(function) or self.dag.fileloc
        _AssetMainOperator(task_id=self.name, definition=self, dag=self.dag)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInput(f"@asset {self.name!r} is run by its DAG, not called")


def asset(*, schedule: Any, name: str | None = None, uri: str | None = None, group: str = "asset",
          extra: dict[str, Any] | None = None, **dag_kwargs: Any) -> Callable[[Callable[..., Any]], AssetDefinition]:
    """``@asset(schedule=..., uri=...)`` over a function: see the module's docstring."""
    def wrap(function: Callable[..., Any]) -> AssetDefinition:
        return AssetDefinition(function, schedule=schedule, name=name, uri=uri, group=group, extra=extra,
                               **dag_kwargs)

    return wrap
