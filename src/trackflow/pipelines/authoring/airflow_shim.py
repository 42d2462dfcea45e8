"""Opt-in: Airflow DAG files run unchanged — ``airflow.*`` imports resolve to trackflow.

With the shim installed (``trackflow dags test --airflow-imports``, or the ``airflow_imports``
setting for the scheduler and its task processes), ``from airflow.sdk import dag, task``,
``from airflow.providers.standard.operators.bash import BashOperator``,
``from airflow.exceptions import AirflowSkipException`` and the like import trackflow's
objects. Every ``airflow`` module is served by one namespace of what trackflow implements; a
name it does not implement fails the import with a message naming it. The shim steps aside
when the real Airflow is importable: then DAG files get Airflow itself.

``airflow.example_dags`` is Airflow's folder of example DAGs; here it is the DAGs folder (each
folder a DAG file was loaded from), so an Airflow example copied there with the helpers and
plugins it imports (``airflow.example_dags.plugins.workday``) finds them beside it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

# Where the names of the ``airflow`` namespace come from, first match wins.
SOURCES = (
    "trackflow.pipelines.authoring",
    "trackflow.pipelines.authoring.assets",
    "trackflow.pipelines.authoring.asset_decorator",
    "trackflow.operators",
    "trackflow.pipelines.authoring.exceptions",
    "trackflow.pipelines.authoring.trigger_rules",
    "trackflow.pipelines.authoring.taskgroup",
    "trackflow.pipelines.authoring.xcom_arg",
    "trackflow.pipelines.authoring.timetable_api",  # before the scheduler's own Timetable and DagRunInfo
    "trackflow.pipelines.authoring.priority_strategy",
    "trackflow.pipelines.authoring.plugins",
    "trackflow.pipelines.scheduler.timetables",
    "trackflow.pipelines.authoring.sensors",
    "trackflow.pipelines.triggers",
    "trackflow.pipelines.runtime.state_store",
    "trackflow.pipelines.authoring.retry_policy",
    "trackflow",  # the rest of the public names, e.g. ``timezone``
)


def _lookup(name: str) -> Any:
    for source in SOURCES:
        module = importlib.import_module(source)
        if hasattr(module, name):
            return getattr(module, name)
    raise AttributeError(name)


class AirflowNamespace(types.ModuleType):
    """An ``airflow`` module: attributes come from trackflow (see SOURCES)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            value = _lookup(name)
        except AttributeError:
            raise AttributeError(
                f"module {self.__name__!r} has no attribute {name!r}: trackflow's Airflow import shim does not "
                f"implement {name} yet") from None
        setattr(self, name, value)
        return value


EXAMPLES = "airflow.example_dags"
_DAGS_FOLDERS: list[str] = []  # the __path__ of airflow.example_dags (the same list, so it grows with it)


def add_dags_folder(folder: str) -> None:
    """A folder DAG files are loaded from: ``airflow.example_dags.X`` may be its module X."""
    if folder not in _DAGS_FOLDERS:
        _DAGS_FOLDERS.append(folder)


class AirflowImportFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname.startswith(EXAMPLES + "."):
            return None  # a real file in a DAGs folder, found through airflow.example_dags.__path__
        last = fullname.rpartition(".")[2]
        if last[:1].isupper():
            # ``from airflow.x import Name`` looks for a submodule ``Name`` when the namespace
            # lacks it: a class name is not a module, so the import fails and names it.
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = AirflowNamespace(spec.name)
        # a package: its submodules come from this finder too (airflow.example_dags: from the DAGs folders)
        module.__path__ = _DAGS_FOLDERS if spec.name == EXAMPLES else []
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


_FINDER = AirflowImportFinder()


def installed() -> bool:
    """Whether ``airflow.*`` is served from trackflow in this process."""
    return _FINDER in sys.meta_path


def real_airflow_available() -> bool:
    if _FINDER in sys.meta_path:
        return False
    return importlib.util.find_spec("airflow") is not None


def install() -> bool:
    """Serve ``airflow.*`` from trackflow in this process; False (nothing done) when the real
    Airflow is importable."""
    if _FINDER in sys.meta_path:
        return True
    if real_airflow_available():
        return False
    sys.meta_path.insert(0, _FINDER)
    return True
