"""`trackflow assets`: list assets and their events, and record an event (which starts the
DAGs scheduled on the asset). Works on the database, or through a server URL."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import click

from trackflow.cli.options import OUTPUT_OPTION, json_object
from trackflow.config import Settings


class _Assets:
    """The three operations, on the database or on a server's /api/v1 (same answers)."""

    def __init__(self, settings: Settings) -> None:
        from trackflow.store.rest.http import server_api

        self.http: Any = server_api(settings)
        self.store: Any = None
        if self.http is None:
            from trackflow.pipelines.operations import Pipelines

            self.pipelines = Pipelines(settings)
            self.store = self.pipelines.assets

    def assets(self) -> list[dict[str, Any]]:
        if self.http is not None:
            return list(self.http.call("GET", "/assets")["assets"])
        consumers = self.store.consumers()
        return [{"name": a.name, "uri": a.uri, "consuming_dags": consumers.get(a.name, [])}
                for a in self.store.list_assets()]

    def events(self, name: str | None, limit: int) -> list[dict[str, Any]]:
        if self.http is not None:
            params = {"limit": limit, **({"name": name} if name else {})}
            return list(self.http.call("GET", "/assets/events", params=params)["asset_events"])
        from trackflow.pipelines.runtime.channel import to_wire

        return [to_wire(e) for e in self.store.list_events(name, limit)]

    def emit(self, name: str, uri: str | None, extra: dict[str, Any], partition_key: str | None) -> dict[str, Any]:
        if self.http is not None:
            body = {"name": name, "uri": uri or name, "extra": extra, "partition_key": partition_key}
            return dict(self.http.call("POST", "/assets/events", body))
        from trackflow.entities.assets import NewAssetEvent
        from trackflow.pipelines.runtime.channel import to_wire

        new = NewAssetEvent(name, uri or name, extra=extra, source="api", partition_key=partition_key)
        [event] = self.store.record_events([new], datetime.now(UTC))
        return to_wire(event)


@click.group()
def assets() -> None:
    """Assets: list, events, emit."""


@assets.command("list")
@OUTPUT_OPTION
@click.pass_obj
def list_assets(settings: Settings, output: str) -> None:
    """Assets with events, and the DAGs scheduled on each."""
    from trackflow.cli.render import print_table

    rows = [(a["name"], a["uri"], ", ".join(a["consuming_dags"])) for a in _Assets(settings).assets()]
    print_table("Assets", ["name", "uri", "consuming dags"], rows, output)


@assets.command("events")
@click.option("--asset", "name", help="Only this asset's events.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@OUTPUT_OPTION
@click.pass_obj
def list_events(settings: Settings, name: str | None, limit: int, output: str) -> None:
    """Asset events, newest first."""
    from trackflow.cli.render import print_table

    rows = [(e["id"], e["asset_name"], e["timestamp"], e["source"],
             ".".join(x for x in (e["source_dag_id"], e["source_task_id"]) if x), json.dumps(e["extra"]))
            for e in _Assets(settings).events(name, limit)]
    print_table("Asset events", ["id", "asset", "timestamp", "source", "from", "extra"], rows, output)


@assets.command("emit")
@click.argument("name")
@click.option("--uri", help="The asset's uri when it is new (default: its name).")
@click.option("--extra", default="{}", show_default=True, help="JSON object stored with the event.")
@click.option("--partition-key", help="The partition of the asset the event is for.")
@click.pass_obj
def emit(settings: Settings, name: str, uri: str | None, extra: str, partition_key: str | None) -> None:
    """Record an event of asset NAME: the DAGs scheduled on it run."""
    event = _Assets(settings).emit(name, uri, json_object(extra, "--extra"), partition_key)
    click.echo(f"Recorded event {event['id']} of asset {event['asset_name']}")
