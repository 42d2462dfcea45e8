"""JSON for what crosses a deferral: a trigger's arguments, its event's payload, the
arguments of the method a task resumes with. Plain JSON plus datetimes and timedeltas
(tagged objects), tuples and sets as lists; anything else is refused when the task defers,
not later in the triggerer."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from trackflow.errors import InvalidInput

_TAG = "__tf_type__"


def encode(value: Any, where: str = "value") -> Any:
    """``value`` as JSON-able data; InvalidInput for what cannot cross a deferral."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return {_TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, timedelta):
        return {_TAG: "timedelta", "value": value.total_seconds()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [encode(v, where) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise InvalidInput(f"{where}: only string keys can cross a deferral")
        return {k: encode(v, where) for k, v in value.items()}
    raise InvalidInput(f"{where}: a {type(value).__name__} cannot cross a deferral (use JSON values, datetimes "
                       "or timedeltas)")


def decode(data: Any) -> Any:
    if isinstance(data, list):
        return [decode(v) for v in data]
    if isinstance(data, dict):
        tag = data.get(_TAG)
        if tag == "datetime":
            return datetime.fromisoformat(data["value"])
        if tag == "timedelta":
            return timedelta(seconds=data["value"])
        return {k: decode(v) for k, v in data.items()}
    return data


def dumps(value: Any, where: str = "value") -> str:
    return json.dumps(encode(value, where), separators=(",", ":"))


def loads(text: str | None) -> Any:
    return None if text is None else decode(json.loads(text))


def with_event(next_kwargs: str | None, payload: str) -> str:
    """The resumed method's arguments (JSON) plus ``event=`` the trigger's payload (JSON)."""
    kwargs = json.loads(next_kwargs) if next_kwargs else {}
    kwargs["event"] = json.loads(payload)
    return json.dumps(kwargs, separators=(",", ":"))
