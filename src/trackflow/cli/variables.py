"""`trackflow variables`: Airflow's Variables from the command line (the configured database,
or a server's /api/v1 when the tracking URI is its URL)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from trackflow.cli.options import OUTPUT_OPTION
from trackflow.config import Settings
from trackflow.errors import NotFound

if TYPE_CHECKING:
    from trackflow.pipelines.variables import VariableBackend


def _backend(settings: Settings) -> VariableBackend:
    from trackflow.pipelines.variables import VariableBackend

    return VariableBackend(settings)


@click.group()
def variables() -> None:
    """Variables: set, get, list, delete (values are encrypted at rest)."""


@variables.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--description", help="What the variable is for.")
@click.pass_obj
def set_variable(settings: Settings, key: str, value: str, description: str | None) -> None:
    """Set variable KEY to VALUE."""
    _backend(settings).put_variable(key, value, description)
    click.echo(f"Set variable {key}")


@variables.command("get")
@click.argument("key")
@click.pass_obj
def get_variable(settings: Settings, key: str) -> None:
    """Print variable KEY's value."""
    value = _backend(settings).get_variable(key)
    if value is None:
        raise NotFound(f"variable {key!r} does not exist")
    click.echo(value)


@variables.command("list")
@OUTPUT_OPTION
@click.pass_obj
def list_variables(settings: Settings, output: str) -> None:
    """Every variable's key and description (never the values)."""
    from trackflow.cli.render import print_table

    rows = [(v["key"], v["description"], v["updated_at"] or "")
            for v in _backend(settings).list_variables()]
    print_table("Variables", ["key", "description", "updated"], rows, output)


@variables.command("delete")
@click.argument("key")
@click.pass_obj
def delete_variable(settings: Settings, key: str) -> None:
    """Delete variable KEY."""
    if not _backend(settings).put_variable(key, None, None):
        raise NotFound(f"variable {key!r} does not exist")
    click.echo(f"Deleted variable {key}")
