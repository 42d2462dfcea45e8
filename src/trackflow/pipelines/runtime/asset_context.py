"""The asset parts of a task's context (Airflow 3's names): ``outlet_events`` (extra for the
events a successful task records for its outlets, and assets added through an alias),
``inlet_events`` (an asset's past events) and ``triggering_asset_events`` (the events that
started this DAG run)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from trackflow.entities.assets import AssetEvent, NewAssetEvent
from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.assets import Asset, AssetAlias, BaseAsset
from trackflow.store.sql.asset_store import check_partition_key


class OutletEventAccessor:
    """``outlet_events[asset].extra["rows"] = 10``; ``outlet_events[alias].add(asset, extra)``."""

    def __init__(self, key: BaseAsset) -> None:
        self.key = key
        self.extra: dict[str, Any] = {}
        self.added: list[tuple[Asset, dict[str, Any]]] = []
        self.partition_keys: dict[str, None] = {}  # ordered, without repeats

    def add_partitions(self, keys: str | list[str]) -> None:
        """The partitions of this asset the task wrote: one event per key (instead of one
        event with the run's partition key)."""
        if isinstance(self.key, AssetAlias):
            raise InvalidInput("add_partitions() is for an Asset outlet; an alias has no partitions")
        for key in [keys] if isinstance(keys, str) else list(keys):
            self.partition_keys[check_partition_key(key) or ""] = None

    def add(self, asset: Asset, extra: dict[str, Any] | None = None) -> None:
        if not isinstance(self.key, AssetAlias):
            raise InvalidInput(f"add() is for an AssetAlias outlet, not {self.key!r}")
        if not isinstance(asset, Asset):
            raise InvalidInput(f"an alias adds Assets, got {asset!r}")
        self.added.append((asset, dict(extra or {})))


class OutletEventAccessors(Mapping[BaseAsset, OutletEventAccessor]):
    def __init__(self) -> None:
        self._by_key: dict[BaseAsset, OutletEventAccessor] = {}

    def __getitem__(self, key: BaseAsset) -> OutletEventAccessor:
        if not isinstance(key, (Asset, AssetAlias)):
            raise InvalidInput(f"outlet_events takes an Asset or AssetAlias, got {key!r}")
        if key not in self._by_key:
            self._by_key[key] = OutletEventAccessor(key)
        return self._by_key[key]

    def __iter__(self) -> Iterator[BaseAsset]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def events(self, outlets: list[Any], partition_key: str | None = None) -> list[NewAssetEvent]:
        """The events a successful try records: one per Asset outlet (one per partition it
        added, else one with the run's ``partition_key``), one per asset added through an
        AssetAlias outlet."""
        out = []
        for outlet in outlets:
            accessor = self._by_key.get(outlet)
            if isinstance(outlet, Asset):
                extra = accessor.extra if accessor else {}
                keys = list(accessor.partition_keys) if accessor and accessor.partition_keys else [partition_key]
                out += [NewAssetEvent(outlet.name, outlet.uri, outlet.group, extra, partition_key=k) for k in keys]
            elif isinstance(outlet, AssetAlias) and accessor is not None:
                out += [NewAssetEvent(a.name, a.uri, a.group, extra, alias=outlet.name, partition_key=partition_key)
                        for a, extra in accessor.added]
        return out


class InletEventAccessors(Mapping[Any, list[AssetEvent]]):
    """``inlet_events[asset]``: the asset's recorded events, oldest first (``[-1]`` is the
    latest), read when first asked for. Also by inlet position (``inlet_events[0]``), by
    ``AssetAlias`` (the events of the assets it resolved to), and ``for_asset(name=|uri=)``
    or ``for_asset_alias(name=)`` as in Airflow (in templates too)."""

    LIMIT = 100

    def __init__(self, read: Callable[[str, int, bool], list[AssetEvent]], inlets: list[Any]) -> None:
        self._read = read
        self._inlets = inlets
        self._cache: dict[tuple[str, bool], list[AssetEvent]] = {}

    def __getitem__(self, key: Any) -> list[AssetEvent]:
        if isinstance(key, int) and not isinstance(key, bool):
            key = self._inlets[key]
        if not isinstance(key, (Asset, AssetAlias)):
            raise InvalidInput(f"inlet_events takes an Asset, an AssetAlias or an inlet's position, got {key!r}")
        cache_key = (key.name, isinstance(key, AssetAlias))
        if cache_key not in self._cache:
            self._cache[cache_key] = list(reversed(self._read(key.name, self.LIMIT, cache_key[1])))
        return self._cache[cache_key]

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEvent]:
        if name:
            return self[Asset(name=name, uri=uri) if uri else self._inlet(lambda a: a.name == name, name)]
        if uri:
            return self[self._inlet(lambda a: a.uri == uri, uri)]
        raise InvalidInput("for_asset() takes name= or uri=")

    def for_asset_alias(self, *, name: str) -> list[AssetEvent]:
        return self[AssetAlias(name)]

    def _inlet(self, matches: Callable[[Asset], bool], what: str) -> Asset:
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and matches(inlet):
                return inlet
        raise KeyError(f"no inlet asset {what!r} in this task's inlets")

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)


def triggering_events(events: list[AssetEvent]) -> dict[Asset, list[AssetEvent]]:
    """The run's triggering events by asset, oldest first."""
    out: dict[Asset, list[AssetEvent]] = {}
    for event in events:
        out.setdefault(Asset(event.asset_name, event.asset_uri), []).append(event)
    return out
