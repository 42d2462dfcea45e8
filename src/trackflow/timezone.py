"""Time zone helpers with Airflow's names (``airflow.sdk.timezone``): aware datetimes, UTC by
default, so DAG files that use them run unchanged (``from trackflow import timezone``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum

utc = pendulum.UTC


def datetime(*args: Any, **kwargs: Any) -> dt.datetime:
    """``datetime.datetime`` that is in UTC unless ``tzinfo=`` says otherwise."""
    kwargs.setdefault("tzinfo", utc)
    return dt.datetime(*args, **kwargs)


def utcnow() -> dt.datetime:
    return dt.datetime.now(utc)


def is_localized(value: dt.datetime) -> bool:
    return value.utcoffset() is not None


def make_aware(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """A naive datetime read as wall time in ``timezone`` (UTC by default)."""
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return pendulum.instance(value, tz=timezone or utc)


def make_naive(value: dt.datetime, timezone: dt.tzinfo | None = None) -> dt.datetime:
    if not is_localized(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(timezone or utc).replace(tzinfo=None)


def convert_to_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return (value if is_localized(value) else make_aware(value)).astimezone(utc)


def parse(string: str, timezone: dt.tzinfo | None = None) -> dt.datetime:
    """An ISO 8601 (or pendulum-readable) time; naive text is read in ``timezone`` (UTC)."""
    return pendulum.parse(string, tz=timezone or utc)  # type: ignore[return-value]
