"""``task_state_store`` and ``asset_state_store`` in a task's context (Airflow 3's state stores):
small JSON values that outlive a try. A task instance's own store is kept across its retries
and deferrals (e.g. the id of an external job it submitted, so a retry reattaches instead of
submitting twice); an asset's store holds e.g. a watermark for every task that reads or writes
the asset. Reads and writes go through the try's channel (also over the task API)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from trackflow.errors import InvalidInput

# Pass as ``retention`` to keep a key forever (the default keeps it too: no expiry is set).
NEVER_EXPIRE: timedelta = timedelta.max

_MISSING = object()


def _now() -> datetime:
    return datetime.now(UTC)


def _dumps(key: str, value: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > 250:
        raise InvalidInput(f"a state key must be a non-empty string of at most 250 characters, got {key!r}")
    if value is None:
        raise ValueError("Cannot set value as None")
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"state value of {key!r} must be JSON (str, int, float, bool, list, dict); got "
                           f"{type(value).__name__}") from None


class TaskStateStoreAccessor:
    """``context["task_state_store"]``: this task instance's keys (every map index its own)."""

    def __init__(self, channel: Any) -> None:
        self._channel = channel

    def get(self, key: str, default: Any = None) -> Any:
        text = self._channel.get_state(None, key, _now())
        return default if text is None else json.loads(text)

    def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
        text = _dumps(key, value)
        expires = None if retention is None or retention is NEVER_EXPIRE else _now() + retention
        self._channel.put_state(None, key, text, expires, _now())

    def delete(self, key: str) -> None:
        self._channel.put_state(None, key, None, None, _now())

    def clear(self) -> None:
        self._channel.put_state(None, None, None, None, _now())


class _AsyncAccess:
    """Airflow's ``aget``/``aset``/``adelete``/``aclear`` of the asset state stores, for
    ``async def`` tasks. Each is one short call to the try's channel, made in place."""

    def get(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError

    def set(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    async def aget(self, key: str, default: Any = None) -> Any:
        return self.get(key, default)

    async def aset(self, key: str, value: Any) -> None:
        self.set(key, value)

    async def adelete(self, key: str) -> None:
        self.delete(key)

    async def aclear(self) -> None:
        self.clear()


class AssetStateStoreAccessor(_AsyncAccess):
    """One asset's keys."""

    def __init__(self, channel: Any, asset_name: str) -> None:
        self._channel = channel
        self.asset_name = asset_name

    def get(self, key: str, default: Any = None) -> Any:
        text = self._channel.get_state(self.asset_name, key, _now())
        return default if text is None else json.loads(text)

    def set(self, key: str, value: Any) -> None:
        self._channel.put_state(self.asset_name, key, _dumps(key, value), None, _now())

    def delete(self, key: str) -> None:
        self._channel.put_state(self.asset_name, key, None, None, _now())

    def clear(self) -> None:
        self._channel.put_state(self.asset_name, None, None, None, _now())


class AssetStateStoreAccessors(_AsyncAccess):
    """``context["asset_state_store"]``: ``[asset]`` for each asset among the task's inlets and
    outlets; with exactly one, ``get``/``set``/``delete``/``clear`` act on it directly."""

    def __init__(self, channel: Any, assets: list[Any]) -> None:
        self._by_name = {a.name: AssetStateStoreAccessor(channel, a.name) for a in assets if hasattr(a, "uri")}

    def __getitem__(self, asset: Any) -> AssetStateStoreAccessor:
        try:
            return self._by_name[asset.name]
        except (KeyError, AttributeError):
            raise KeyError(f"{asset!r} is not in this task's inlets or outlets") from None

    def _single(self) -> AssetStateStoreAccessor:
        if len(self._by_name) != 1:
            raise ValueError(f"Task has {len(self._by_name)} inlets and outlets — use "
                             "context['asset_state_store'][MY_ASSET] to say which")
        return next(iter(self._by_name.values()))

    def get(self, key: str, default: Any = None) -> Any:
        return self._single().get(key, default)

    def set(self, key: str, value: Any) -> None:
        self._single().set(key, value)

    def delete(self, key: str) -> None:
        self._single().delete(key)

    def clear(self) -> None:
        self._single().clear()
