"""`trackflow connections`: Airflow's Connections from the command line (the configured
database, or a server's /api/v1 when the tracking URI is its URL). Option names are Airflow's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from trackflow.cli.options import OUTPUT_OPTION, json_object
from trackflow.config import Settings
from trackflow.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from trackflow.pipelines.connections import ConnectionBackend

FIELD_OPTIONS = ("conn_type", "conn_host", "conn_login", "conn_password", "conn_schema", "conn_port", "conn_extra")


def _backend(settings: Settings) -> ConnectionBackend:
    from trackflow.pipelines.connections import ConnectionBackend

    return ConnectionBackend(settings)


@click.group()
def connections() -> None:
    """Connections: add, get, list, delete (password and extra are encrypted at rest)."""


@connections.command("add")
@click.argument("conn_id")
@click.option("--conn-uri", help="The whole connection as Airflow's URI (conn-type://login:password@host:port/schema).")
@click.option("--conn-type", help="The connection type (postgres, http, aws...).")
@click.option("--conn-host")
@click.option("--conn-login")
@click.option("--conn-password")
@click.option("--conn-schema")
@click.option("--conn-port", type=int)
@click.option("--conn-extra", help="A JSON object of extra settings.")
@click.option("--conn-description", help="What the connection is for.")
@click.pass_obj
def add_connection(settings: Settings, conn_id: str, conn_uri: str | None, conn_description: str | None,
                   **fields: object) -> None:
    """Add (or replace) connection CONN_ID, from --conn-uri or from --conn-type and the other fields."""
    from trackflow.entities.connection import Connection

    given = {name: value for name, value in fields.items() if value is not None}
    if conn_uri and given:
        raise InvalidInput(f"give --conn-uri or --{'/--'.join(n.replace('_', '-') for n in given)}, not both")
    if conn_uri:
        conn = Connection.from_uri(conn_uri, conn_id=conn_id, description=conn_description)
    elif "conn_type" not in given:
        raise InvalidInput("give --conn-uri, or --conn-type with the other --conn-* fields")
    else:
        extra = given.get("conn_extra")
        conn = Connection(conn_id=conn_id, conn_type=str(given["conn_type"]), description=conn_description,
                          host=given.get("conn_host"), login=given.get("conn_login"),  # type: ignore[arg-type]
                          password=given.get("conn_password"), schema=given.get("conn_schema"),  # type: ignore[arg-type]
                          port=given.get("conn_port"),  # type: ignore[arg-type]
                          extra=json.dumps(json_object(str(extra), "--conn-extra")) if extra else None)
    _backend(settings).put_connection(conn)
    click.echo(f"Added connection {conn_id}")


@connections.command("get")
@click.argument("conn_id")
@click.option("--output", type=click.Choice(["uri", "json"]), default="uri", show_default=True,
              help="uri: Airflow's URI; json: every field.")
@click.pass_obj
def get_connection(settings: Settings, conn_id: str, output: str) -> None:
    """Print connection CONN_ID (with its password: this is for its owner)."""
    from dataclasses import asdict

    found = _backend(settings).get_connection(conn_id)
    if found is None:
        raise NotFound(f"connection {conn_id!r} does not exist")
    click.echo(found.get_uri() if output == "uri" else json.dumps(asdict(found), indent=2))


@connections.command("list")
@OUTPUT_OPTION
@click.pass_obj
def list_connections(settings: Settings, output: str) -> None:
    """Every connection's id, type, host, schema, login and port (never the password or extra)."""
    from trackflow.cli.render import print_table

    rows = [(c.conn_id, c.conn_type, c.host, c.schema, c.login, c.port, c.description)
            for c in _backend(settings).list_connections()]
    print_table("Connections", ["conn id", "conn type", "host", "schema", "login", "port", "description"], rows,
                output)


@connections.command("delete")
@click.argument("conn_id")
@click.pass_obj
def delete_connection(settings: Settings, conn_id: str) -> None:
    """Delete connection CONN_ID."""
    if not _backend(settings).delete_connection(conn_id):
        raise NotFound(f"connection {conn_id!r} does not exist")
    click.echo(f"Deleted connection {conn_id}")
