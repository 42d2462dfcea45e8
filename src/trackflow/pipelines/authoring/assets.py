"""Assets in DAG files, as Airflow 3's ``airflow.sdk``: ``Asset``, ``AssetAlias``, ``AssetAll``,
``AssetAny`` (and ``&`` / ``|``), ``Metadata``.

A task's ``outlets=[Asset(...)]`` records an event for each asset when the task succeeds; a
DAG's ``schedule=`` an asset, a list of assets (all of them), or an ``&``/``|`` expression runs
the DAG when the condition holds over the assets updated since its last asset-triggered run.
Conditions serialize to plain dicts (see :func:`condition_of`) that the scheduler evaluates
(scheduler/asset_triggers.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from trackflow.errors import InvalidInput

MAX_LENGTH = 1500


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_LENGTH:
        raise InvalidInput(f"asset {what} must be a non-empty string of at most {MAX_LENGTH} characters, "
                           f"got {value!r}")
    return value


class BaseAsset:
    """What a schedule condition is made of."""

    def __and__(self, other: BaseAsset) -> AssetAll:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAll(self, other)

    def __or__(self, other: BaseAsset) -> AssetAny:
        if not isinstance(other, BaseAsset):
            return NotImplemented
        return AssetAny(self, other)

    def condition(self) -> dict[str, Any]:
        raise NotImplementedError

    def iter_assets(self) -> Iterator[Asset]:
        return iter(())


class AssetWatcher:
    """``Asset(..., watchers=[AssetWatcher(name, trigger)])``: while a DAG (not paused) is
    scheduled on the asset, the triggerer runs ``trigger`` and each of its events updates the
    asset (extra ``{"from_trigger": true, "payload": ...}``), as Airflow's event-driven
    scheduling. ``trigger`` must be a ``BaseEventTrigger``."""

    def __init__(self, name: str, trigger: Any) -> None:
        from trackflow.pipelines.triggers.base import BaseEventTrigger

        self.name = _text(name, "watcher name")
        if not isinstance(trigger, BaseEventTrigger):
            raise InvalidInput(f"AssetWatcher {name!r}: the trigger must be a BaseEventTrigger (e.g. "
                               f"FileDeleteTrigger), got {type(trigger).__name__}")
        self.trigger = trigger

    def dump(self) -> dict[str, Any]:
        classpath, kwargs = self.trigger.serialize()
        return {"name": self.name, "classpath": classpath, "kwargs": kwargs}

    def __repr__(self) -> str:
        return f"AssetWatcher(name={self.name!r}, trigger={self.trigger!r})"


@dataclass(frozen=True)
class AssetAccessControl:
    """Which teams' DAGs may update or be triggered by an asset, in Airflow's multi-team mode
    (``[core] multi_team``, off by default). trackflow has no multi-team mode: it is checked and
    kept, and filters nothing — what Airflow does with multi-team off."""

    producer_teams: list[str] = field(default_factory=list)
    consumer_teams: list[str] | None = None
    allow_global: bool = True

    def __post_init__(self) -> None:
        for attribute in ("producer_teams", "consumer_teams"):
            teams = getattr(self, attribute)
            if teams is None:
                continue
            if isinstance(teams, str) or not all(isinstance(t, str) and t.strip() for t in teams):
                raise InvalidInput(f"AssetAccessControl {attribute} must be a list of non-empty strings, got "
                                   f"{teams!r}")
        if not isinstance(self.allow_global, bool):
            raise InvalidInput(f"AssetAccessControl allow_global must be True or False, got {self.allow_global!r}")


class Asset(BaseAsset):
    """``Asset(name)``, ``Asset(uri=...)`` or both; a missing one is the other (as Airflow)."""

    def __init__(self, name: str | None = None, uri: str | None = None, *, group: str = "asset",
                 extra: dict[str, Any] | None = None, watchers: Any = None,
                 access_control: AssetAccessControl | None = None) -> None:
        if name is None and uri is None:
            raise InvalidInput("an Asset needs a name or a uri")
        self.name = _text(name if name is not None else uri, "name")
        self.uri = _text(uri if uri is not None else name, "uri")
        self.group = _text(group, "group")
        self.extra = dict(extra or {})
        if access_control is not None and not isinstance(access_control, AssetAccessControl):
            raise InvalidInput(f"Asset {self.name!r}: access_control must be an AssetAccessControl, "
                               f"got {access_control!r}")
        self.access_control = access_control
        self.watchers = list(watchers or [])
        for watcher in self.watchers:
            if not isinstance(watcher, AssetWatcher):
                raise InvalidInput(f"Asset {self.name!r}: watchers must be AssetWatchers, got {watcher!r}")
        if len({w.name for w in self.watchers}) != len(self.watchers):
            raise InvalidInput(f"Asset {self.name!r}: two watchers of the same name")

    def __repr__(self) -> str:
        return f"Asset(name={self.name!r}, uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and (self.name, self.uri) == (other.name, other.uri)

    def __hash__(self) -> int:
        return hash(("asset", self.name, self.uri))

    def condition(self) -> dict[str, Any]:
        named: dict[str, Any] = {"name": self.name, "uri": self.uri, "group": self.group}
        if self.watchers:
            named["watchers"] = [w.dump() for w in self.watchers]
        return {"asset": named}

    def iter_assets(self) -> Iterator[Asset]:
        yield self

    @staticmethod
    def ref(*, name: str | None = None, uri: str | None = None) -> AssetNameRef | AssetUriRef:
        """An asset defined elsewhere, by name or by uri (Airflow's ``Asset.ref``)."""
        if (name is None) == (uri is None):
            raise InvalidInput("Asset.ref takes name= or uri=, one of them")
        return AssetNameRef(name) if name is not None else AssetUriRef(str(uri))


class AssetNameRef(BaseAsset):
    """``Asset.ref(name=...)``: the asset of that name, wherever it is defined."""

    def __init__(self, name: str) -> None:
        self.name = _text(name, "name")

    def __repr__(self) -> str:
        return f"AssetNameRef(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetNameRef) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("asset_ref", self.name))

    def condition(self) -> dict[str, Any]:
        return {"asset": {"name": self.name, "ref": True}}


class AssetUriRef(BaseAsset):
    """``Asset.ref(uri=...)``: the asset with that uri, wherever it is defined. When the DAGs
    folder is parsed it becomes that asset's name (see :func:`resolve_uri_refs`); a uri no
    asset declares stands for the asset named by it (as ``Asset(uri=...)``)."""

    def __init__(self, uri: str) -> None:
        self.uri = _text(uri, "uri")
        self.name = self.uri  # until resolved

    def __repr__(self) -> str:
        return f"AssetUriRef(uri={self.uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetUriRef) and self.uri == other.uri

    def __hash__(self) -> int:
        return hash(("asset_uri_ref", self.uri))

    def condition(self) -> dict[str, Any]:
        return {"asset": {"name": self.uri, "uri": self.uri, "ref": "uri"}}


class AssetAlias(BaseAsset):
    """A name under which a task adds events for assets it picks at run time."""

    def __init__(self, name: str, group: str = "asset") -> None:
        self.name = _text(name, "alias name")
        self.group = group

    def __repr__(self) -> str:
        return f"AssetAlias(name={self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and self.name == other.name

    def __hash__(self) -> int:
        return hash(("alias", self.name))

    def condition(self) -> dict[str, Any]:
        # Holds when any asset the alias resolves to is updated (see scheduler/asset_triggers.py).
        return {"alias": {"name": self.name}}


class _Combined(BaseAsset):
    kind = ""

    def __init__(self, *objects: BaseAsset) -> None:
        for obj in objects:
            if not isinstance(obj, BaseAsset):
                raise InvalidInput(f"{type(self).__name__} takes assets, got {obj!r}")
        self.objects = list(objects)

    def condition(self) -> dict[str, Any]:
        return {self.kind: [o.condition() for o in self.objects]}

    def iter_assets(self) -> Iterator[Asset]:
        for obj in self.objects:
            yield from obj.iter_assets()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.objects))})"


class AssetAll(_Combined):
    """Every one of its members updated (``a & b``; a list in ``schedule=``)."""

    kind = "all"


class AssetAny(_Combined):
    """Any one of its members updated (``a | b``)."""

    kind = "any"


class Metadata:
    """``yield Metadata(asset, extra)`` from a task: extra for the event of that outlet."""

    def __init__(self, asset: Asset, extra: dict[str, Any], alias: AssetAlias | None = None) -> None:
        self.asset = asset
        self.extra = dict(extra)
        self.alias = alias


def as_condition(schedule: Any) -> BaseAsset | None:
    """The asset condition of a ``schedule=`` value, or None when it is not about assets."""
    if isinstance(schedule, BaseAsset):
        return schedule
    if isinstance(schedule, (list, tuple)) and schedule and all(isinstance(s, BaseAsset) for s in schedule):
        return AssetAll(*schedule)
    return None


def condition_of(schedule: Any) -> dict[str, Any] | None:
    condition = as_condition(schedule)
    return None if condition is None else condition.condition()
