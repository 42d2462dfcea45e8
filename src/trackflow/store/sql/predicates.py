"""Turn parsed filter comparisons into SQLAlchemy expressions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, not_

from trackflow.errors import InvalidInput
from trackflow.store.search_filter import Comparison


def with_integer_value(comparison: Comparison) -> Comparison:
    """The comparison with its quoted value(s) as integers, for integer id columns
    (``experiment_id = '3'``, ``experiment_id IN ('1', '2')``); InvalidInput naming a non-integer."""
    raw = comparison.value
    try:
        value: Any = tuple(int(v) for v in raw) if isinstance(raw, tuple) else int(raw or 0)
    except (TypeError, ValueError):
        raise InvalidInput(f"{comparison.key} must be compared with integers, got {raw!r}") from None
    return Comparison(comparison.kind, comparison.key, comparison.op, value)


def compare(column: Any, comparison: Comparison) -> ColumnElement[bool]:
    """``column <op> value`` for one comparison (IS [NOT] NULL is handled by the caller)."""
    op, value = comparison.op, comparison.value
    values: list[Any] = list(value) if isinstance(value, tuple) else []
    if op == "=":
        return column == value
    if op == "!=":
        return column != value
    if op == "<":
        return column < value
    if op == "<=":
        return column <= value
    if op == ">":
        return column > value
    if op == ">=":
        return column >= value
    if op == "LIKE":
        # Case-sensitive on both databases: SQLite connections set PRAGMA case_sensitive_like.
        return column.like(value)
    if op == "ILIKE":
        return func.lower(column).like(func.lower(value))
    if op == "IN":
        return column.in_(values)
    if op == "NOT IN":
        return not_(column.in_(values))
    raise ValueError(f"unsupported comparator {op}")  # the parser never produces others
