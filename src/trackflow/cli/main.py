"""Root of the `trackflow` CLI: global options, command registration, one-line errors."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from trackflow.config import load_settings
from trackflow.errors import TrackflowError

# name -> "module:attribute" of a click command or group, imported only when used.
COMMANDS: dict[str, str] = {
    "server": "trackflow.cli.server:server",
    "db": "trackflow.cli.db:db",
    "experiments": "trackflow.cli.tracking:experiments",
    "runs": "trackflow.cli.tracking:runs",
    "gc": "trackflow.cli.gc:gc",
    "models": "trackflow.cli.models:models",
    "dags": "trackflow.cli.dags:dags",
    "scheduler": "trackflow.cli.scheduler:scheduler",
    "triggerer": "trackflow.cli.triggerer:triggerer",
    "worker": "trackflow.cli.worker:worker",
    "assets": "trackflow.cli.assets:assets",
    "users": "trackflow.cli.accounts:users",
    "tokens": "trackflow.cli.accounts:tokens",
    "sessions": "trackflow.cli.accounts:sessions",
    "audit": "trackflow.cli.accounts:audit",
    "permissions": "trackflow.cli.permissions:permissions",
    "groups": "trackflow.cli.permissions:groups",
    "variables": "trackflow.cli.variables:variables",
    "connections": "trackflow.cli.connections:connections",
}


class LazyGroup(click.Group):
    """Loads a subcommand's module on first use, so `trackflow --help` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=LazyGroup)
@click.option("--home", envvar=None, help="TRACKFLOW_HOME for this command (default ~/.trackflow).")
@click.option("--tracking-uri", help="Tracking URI: http(s)://host:port, sqlite:///path.db or postgresql://...")
@click.pass_context
def cli(ctx: click.Context, home: str | None, tracking_uri: str | None) -> None:
    """trackflow: experiment tracking, models and pipelines in one system."""
    ctx.obj = load_settings(home=home, tracking_uri=tracking_uri)
    if ctx.obj.tracking_uri.startswith("sqlite:"):  # explicit: a missing directory is a typo, not created
        from trackflow.store.sql.database import require_sqlite_directory

        require_sqlite_directory(ctx.obj.tracking_uri)


def main(argv: list[str] | None = None) -> Any:
    try:
        return cli.main(args=argv, prog_name="trackflow", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(2)
    except TrackflowError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
