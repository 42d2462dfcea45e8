"""What a mapped task group is expanded over, and the values one map index gets.

``group.expand(x=[1, 2], y=out)`` maps over the cartesian product of its arguments (the last
varying fastest, as Airflow); ``group.expand_kwargs([{...}, {...}])`` or ``expand_kwargs(out)``
maps over a list of argument dicts, one map index per dict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.exceptions import AirflowFailException
from trackflow.pipelines.authoring.xcom_arg import RETURN_VALUE, XComArg, find_xcom_args, resolve_xcom_args

Fetch = Callable[[XComArg], Any]


@dataclass(frozen=True)
class ExpandInput:
    kind: str  # "dict_of_lists" (expand) | "list_of_dicts" (expand_kwargs)
    value: Any  # dict name -> list/dict/XComArg, or a list of dicts / an XComArg

    @classmethod
    def of_lists(cls, owner: str, mapped: dict[str, Any]) -> ExpandInput:
        if not mapped:
            raise InvalidInput(f"expand() of {owner} needs at least one argument")
        for name, value in mapped.items():
            if not isinstance(value, (list, tuple, dict, XComArg)):
                raise InvalidInput(f"expand() argument {name!r} of {owner} must be a list, a dict or a task "
                                   f"output, got {type(value).__name__}")
            _check_return_value(owner, value)
        return cls("dict_of_lists", dict(mapped))

    @classmethod
    def of_dicts(cls, owner: str, kwargs: Any) -> ExpandInput:
        if isinstance(kwargs, XComArg):
            _check_return_value(owner, kwargs)
        elif isinstance(kwargs, (list, tuple)):
            for item in kwargs:
                if not isinstance(item, (dict, XComArg)):
                    raise InvalidInput(f"expand_kwargs() of {owner} takes a list of dicts, got an item "
                                       f"{type(item).__name__}")
        else:
            raise InvalidInput(f"expand_kwargs() of {owner} takes a list of dicts or a task output, "
                               f"got {type(kwargs).__name__}")
        return cls("list_of_dicts", kwargs)

    def references(self) -> list[XComArg]:
        """The task outputs the expansion reads (their tasks run before the group)."""
        return find_xcom_args(self.value)

    def collections(self) -> list[tuple[str, Any]]:
        """(name, collection) per mapped argument; expand_kwargs has one, named ``**kwargs``."""
        if self.kind == "list_of_dicts":
            return [("**kwargs", self.value)]
        return list(self.value.items())

    def values_at(self, map_index: int, fetch: Fetch) -> dict[str, Any]:
        """The arguments of map index ``map_index``; AirflowFailException if the collections
        at run time cannot be mapped over or do not reach that index."""
        if self.kind == "list_of_dicts":
            items = _as_list("expand_kwargs()", resolve_xcom_args(self.value, fetch))
            if map_index >= len(items):
                raise AirflowFailException(f"expand_kwargs() has {len(items)} items, not an item {map_index}")
            item = resolve_xcom_args(items[map_index], fetch)
            if not isinstance(item, dict):
                raise AirflowFailException(f"expand_kwargs() item {map_index} is a {type(item).__name__}, not a dict")
            return item
        values: dict[str, Any] = {}
        index = map_index
        for name, value in reversed(list(self.value.items())):
            coll = _as_list(f"expand() argument {name!r}", resolve_xcom_args(value, fetch))
            if not coll:
                raise AirflowFailException(f"expand() argument {name!r} is empty")
            values[name] = coll[index % len(coll)]
            index //= len(coll)
        return values


def _as_list(what: str, value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.items())
    if not isinstance(value, (list, tuple)):
        raise AirflowFailException(f"cannot map {what} over a {type(value).__name__}")
    return list(value)


def _check_return_value(owner: str, value: Any) -> None:
    # as Airflow: mapping over an output pushed under another key is ambiguous
    if isinstance(value, XComArg) and value.key != RETURN_VALUE:
        raise InvalidInput(f"{owner} cannot be mapped over the output {value.key!r} of task "
                           f"{value.operator.task_id!r}: map over a task's return value")
