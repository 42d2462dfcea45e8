"""Jinja rendering of operator ``template_fields`` with Airflow's context and filters."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.ext  # noqa: F401 - the "do" extension, imported once here rather than per render
import jinja2.nativetypes

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.dag import DAG


def _ds(value: datetime) -> str:
    return value.strftime("%Y-%m-%d")


def _ds_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%d")


def _ts(value: datetime) -> str:
    return value.isoformat()


def _ts_nodash(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%S")


def _ts_nodash_with_tz(value: datetime) -> str:
    return value.isoformat().replace("-", "").replace(":", "")


FILTERS = {
    "ds": _ds,
    "ds_nodash": _ds_nodash,
    "ts": _ts,
    "ts_nodash": _ts_nodash,
    "ts_nodash_with_tz": _ts_nodash_with_tz,
}


def template_env(dag: DAG | None) -> jinja2.Environment:
    """The Jinja environment of a DAG: its folder and template_searchpath, StrictUndefined,
    Airflow's date filters plus user_defined_macros/filters."""
    searchpath: list[str] = []
    native = False
    undefined: type[jinja2.Undefined] = jinja2.StrictUndefined
    macros: Mapping[str, Any] = {}
    filters: Mapping[str, Any] = {}
    if dag is not None:
        if dag.fileloc:
            searchpath.append(os.path.dirname(os.path.abspath(dag.fileloc)))
        searchpath.extend(dag.template_searchpath)
        native = dag.render_template_as_native_obj
        undefined = dag.template_undefined or jinja2.StrictUndefined
        macros = dag.user_defined_macros or {}
        filters = dag.user_defined_filters or {}
    env_cls = jinja2.nativetypes.NativeEnvironment if native else jinja2.Environment
    env = env_cls(
        loader=jinja2.FileSystemLoader(searchpath or [os.getcwd()]),
        undefined=undefined,
        extensions=["jinja2.ext.do"],
        keep_trailing_newline=True,
        cache_size=0,
    )
    env.filters.update(FILTERS)
    env.filters.update(filters)
    env.globals.update(macros)
    return env


def contains_text(value: Any) -> bool:
    """Whether :func:`render` would find a string to render in ``value``."""
    if isinstance(value, str):
        return True
    if isinstance(value, (list, tuple, set)):
        return any(contains_text(v) for v in value)
    if isinstance(value, dict):
        return any(contains_text(v) for v in value.values())
    return False


def render(value: Any, context: Mapping[str, Any], env: jinja2.Environment | None,
           template_ext: Iterable[str] = ()) -> Any:
    """Render strings (files for names ending in ``template_ext``) inside lists, tuples, sets and
    dicts. ``env`` may be None only when ``value`` has no string (see :func:`contains_text`)."""
    if isinstance(value, str):
        assert env is not None, "rendering a string needs a Jinja environment"
        if any(value.endswith(ext) for ext in template_ext):  # a file, which must exist (as Airflow)
            return env.get_template(value).render(**context)
        return env.from_string(value).render(**context)
    if isinstance(value, list):
        return [render(v, context, env, template_ext) for v in value]
    if isinstance(value, tuple):
        return tuple(render(v, context, env, template_ext) for v in value)
    if isinstance(value, set):
        return {render(v, context, env, template_ext) for v in value}
    if isinstance(value, dict):
        return {k: render(v, context, env, template_ext) for k, v in value.items()}
    return value
