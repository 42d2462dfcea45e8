"""Turn parsed filter comparisons into SQLAlchemy expressions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, not_

from trackflow.store.search_filter import Comparison


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
