"""`trackflow db upgrade`."""

from __future__ import annotations

import click

from trackflow.config import Settings


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@click.option("--backend-store-uri", help="Database URI (default: the configured tracking URI).")
@click.pass_obj
def upgrade(settings: Settings, backend_store_uri: str | None) -> None:
    """Apply pending schema migrations (idempotent)."""
    from trackflow.store.sql.database import Database

    uri = backend_store_uri or settings.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        raise click.UsageError("db upgrade needs a database URI, not a server URL")
    database = Database(uri)
    database.upgrade()
    database.dispose()
    click.echo(f"database {uri} is up to date")
