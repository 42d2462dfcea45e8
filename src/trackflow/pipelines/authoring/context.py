"""The running task's context, reachable from anywhere in the task with get_current_context()."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trackflow.errors import Conflict

# The context of the task running in this process. Module-level because that is the
# contract of get_current_context() (Airflow's API): one task runs per task process.
_CURRENT: list[dict[str, Any]] = []


def get_current_context() -> dict[str, Any]:
    """The context dict of the running task (ds, logical_date, params, ti, ...).

    Raises Conflict when called outside a running task.
    """
    if not _CURRENT:
        raise Conflict("get_current_context() was called outside of a running task")
    return _CURRENT[-1]


@contextmanager
def set_current_context(context: dict[str, Any]) -> Iterator[None]:
    _CURRENT.append(context)
    try:
        yield
    finally:
        _CURRENT.pop()
