"""``@asset`` and ``@asset.multi`` (Airflow 3): a function that makes assets.

``@asset(schedule=..., uri=...)``: the decorated name is an ``AssetDefinition`` — an Asset (so
DAGs can be scheduled on it and tasks can name it) — and also a DAG of that name with one task
of that name whose outlet is the asset, run on ``schedule``. ``@asset.multi(schedule=...,
outlets=[a, b])``: a ``MultiAssetDefinition`` — all of its outlets (as ``AssetAll``, so a DAG
scheduled on it waits for every one) — and a one-task DAG named after the function producing
them. The function's parameters: ``self`` (the definition), ``context`` (the task's context),
``outlet_events``, one with a default (gets it), and any other name: the asset of that name,
which becomes an inlet of the task (``context["inlet_events"][param]`` reads its events). Its
return value is the task's output.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.assets import Asset, AssetAll, BaseAsset
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.dag import DAG

_SPECIAL = ("self", "context", "outlet_events")


def _inlet_assets(function: Callable[..., Any], what: str) -> dict[str, Asset]:
    if not callable(function):
        raise InvalidInput(f"{what} decorates a function, not {function!r}")
    if function.__name__ != function.__qualname__:
        raise InvalidInput(f"{what} {function.__name__!r}: nested functions are not supported (as in Airflow)")
    params = inspect.signature(function).parameters
    for p in params.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise InvalidInput(f"{what} {function.__name__!r}: *args and **kwargs cannot name assets")
    return {name: Asset(name=name) for name, p in params.items()
            if name not in _SPECIAL and p.default is inspect.Parameter.empty}


class _AssetMainOperator(BaseOperator):
    """The one task of an ``@asset``/``@asset.multi`` DAG."""

    custom_operator_name = "@asset"

    def __init__(self, *, definition: AssetDefinition | MultiAssetDefinition, outlets: list[BaseAsset],
                 **kwargs: Any) -> None:
        super().__init__(outlets=outlets, inlets=list(definition.inlet_assets.values()), **kwargs)
        self.definition = definition

    def execute(self, context: dict[str, Any]) -> Any:
        values: dict[str, Any] = {}
        for name, param in inspect.signature(self.definition.function).parameters.items():
            if param.default is not inspect.Parameter.empty:  # as Airflow: a default is no inlet
                values[name] = param.default
            elif name == "self":
                values[name] = self.definition
            elif name in ("context", "outlet_events"):
                values[name] = context if name == "context" else context["outlet_events"]
            else:
                values[name] = self.definition.inlet_assets[name]
        return self.definition.function(**values)


def _one_task_dag(definition: AssetDefinition | MultiAssetDefinition, dag_id: str, schedule: Any,
                  outlets: list[BaseAsset], dag_kwargs: dict[str, Any]) -> DAG:
    dag = DAG(dag_id=dag_id, schedule=schedule, **dag_kwargs)
    dag.fileloc = inspect.getsourcefile(definition.function) or dag.fileloc
    _AssetMainOperator(task_id=definition.function.__name__, definition=definition, outlets=outlets, dag=dag)
    return dag


class AssetDefinition(Asset):
    def __init__(self, function: Callable[..., Any], *, schedule: Any, name: str | None = None,
                 uri: str | None = None, group: str = "asset", extra: dict[str, Any] | None = None,
                 **dag_kwargs: Any) -> None:
        self.inlet_assets = _inlet_assets(function, "@asset")
        super().__init__(name=name or function.__name__, uri=uri, group=group, extra=extra)
        self.function = function
        self.dag = _one_task_dag(self, self.name, schedule, [self], dag_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInput(f"@asset {self.name!r} is run by its DAG, not called")


class MultiAssetDefinition(AssetAll):
    def __init__(self, function: Callable[..., Any], *, schedule: Any, outlets: Collection[BaseAsset],
                 **dag_kwargs: Any) -> None:
        self.inlet_assets = _inlet_assets(function, "@asset.multi")
        outlets = list(outlets or [])
        if not outlets:
            raise InvalidInput(f"@asset.multi {function.__name__!r}: no outlets given")
        super().__init__(*outlets)
        self.name = function.__name__
        self.function = function
        self.dag = _one_task_dag(self, self.name, schedule, outlets, dag_kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InvalidInput(f"@asset.multi {self.name!r} is run by its DAG, not called")


class asset:  # noqa: N801 - Airflow's name, used as a decorator
    """``@asset(schedule=..., uri=...)`` over a function: see the module's docstring."""

    def __init__(self, *, schedule: Any, name: str | None = None, uri: str | None = None, group: str = "asset",
                 extra: dict[str, Any] | None = None, **dag_kwargs: Any) -> None:
        self.schedule = schedule
        self.name, self.uri, self.group, self.extra = name, uri, group, extra
        self.dag_kwargs = dag_kwargs

    def __call__(self, function: Callable[..., Any]) -> AssetDefinition:
        return AssetDefinition(function, schedule=self.schedule, name=self.name, uri=self.uri, group=self.group,
                               extra=self.extra, **self.dag_kwargs)

    class multi:  # noqa: N801
        """``@asset.multi(schedule=..., outlets=[a, b])``: one task producing several assets."""

        def __init__(self, *, schedule: Any, outlets: Collection[BaseAsset], **dag_kwargs: Any) -> None:
            self.schedule = schedule
            self.outlets = outlets
            self.dag_kwargs = dag_kwargs

        def __call__(self, function: Callable[..., Any]) -> MultiAssetDefinition:
            return MultiAssetDefinition(function, schedule=self.schedule, outlets=self.outlets, **self.dag_kwargs)
