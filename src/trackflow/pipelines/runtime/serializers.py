"""Serializers for task outputs: JSON, numpy, pandas (parquet) and pickle, tried in order.

A serializer claims the values it can round-trip exactly; pickle takes the rest. Register
more with :func:`register_serializer` (tried before the built-in ones).
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from typing import Any, Protocol

from trackflow.errors import NotFound


class Serializer(Protocol):
    name: str
    extension: str

    def accepts(self, value: Any) -> bool: ...

    def dumps(self, value: Any) -> bytes: ...

    def loads(self, data: bytes) -> Any: ...


def _plain_json(value: Any, depth: int = 0) -> bool:
    if depth > 100:
        return False
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if type(value) is list:
        return all(_plain_json(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(type(k) is str and _plain_json(v, depth + 1) for k, v in value.items())
    return False


class JsonSerializer:
    name = "json"
    extension = "json"

    def accepts(self, value: Any) -> bool:
        return _plain_json(value)

    def dumps(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":")).encode()

    def loads(self, data: bytes) -> Any:
        return json.loads(data)


class NumpySerializer:
    name = "numpy"
    extension = "npy"

    def accepts(self, value: Any) -> bool:
        np = sys.modules.get("numpy")  # only values of an already-imported numpy can be arrays
        return np is not None and isinstance(value, np.ndarray) and value.dtype != object

    def dumps(self, value: Any) -> bytes:
        import numpy as np

        buf = io.BytesIO()
        np.save(buf, value, allow_pickle=False)
        return buf.getvalue()

    def loads(self, data: bytes) -> Any:
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)


class PandasParquetSerializer:
    name = "parquet"
    extension = "parquet"

    def accepts(self, value: Any) -> bool:
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(value, pd.DataFrame):
            return False
        try:
            import pyarrow  # noqa: F401 - parquet needs it; without it pickle is used
        except ImportError:
            return False
        return all(isinstance(c, str) for c in value.columns)

    def dumps(self, value: Any) -> bytes:
        buf = io.BytesIO()
        value.to_parquet(buf)
        return buf.getvalue()

    def loads(self, data: bytes) -> Any:
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))


class PickleSerializer:
    name = "pickle"
    extension = "pkl"

    def accepts(self, value: Any) -> bool:
        return True

    def dumps(self, value: Any) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)

    def loads(self, data: bytes) -> Any:
        return pickle.loads(data)  # noqa: S301 - outputs come from this deployment's own tasks


_BUILTIN: tuple[Serializer, ...] = (JsonSerializer(), NumpySerializer(), PandasParquetSerializer(), PickleSerializer())
# Serializers registered by users, tried first. Module-level on purpose: registration is
# process-wide configuration done at import time of a DAG file or plugin.
_REGISTERED: list[Serializer] = []


def register_serializer(serializer: Serializer) -> None:
    _REGISTERED.insert(0, serializer)


def serializers() -> list[Serializer]:
    return [*_REGISTERED, *_BUILTIN]


def pick(value: Any) -> Serializer:
    for serializer in serializers():
        if serializer.accepts(value):
            return serializer
    raise AssertionError("pickle accepts everything")  # pragma: no cover


def by_name(name: str) -> Serializer:
    for serializer in serializers():
        if serializer.name == name:
            return serializer
    raise NotFound(f"no serializer named {name!r} is registered")
