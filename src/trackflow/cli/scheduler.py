"""`trackflow scheduler`: the pipeline scheduler and local executor without the HTTP server.

On SQLite one scheduler per database: a second one exits at once (code 2) naming the first.
On PostgreSQL any number may run; they divide the work with row locks."""

from __future__ import annotations

import os
import signal
import threading

import click

from trackflow.config import Settings


@click.command()
@click.option("--backend-store-uri", help="Database URI (default: SQLite under TRACKFLOW_HOME).")
@click.option("--dags-folder", help="Folder of DAG files.")
@click.pass_obj
def scheduler(settings: Settings, backend_store_uri: str | None, dags_folder: str | None) -> None:
    """Run the scheduler until interrupted (Ctrl-C or SIGTERM)."""
    from trackflow.pipelines.service import PipelineService
    from trackflow.store.sql.database import Database, require_sqlite_directory

    settings = settings.with_overrides(tracking_uri=backend_store_uri, dags_folder=dags_folder)
    if settings.tracking_uri:  # given explicitly: a missing directory is a typo, not created
        require_sqlite_directory(settings.tracking_uri)
    os.environ.update(settings.to_environ())  # task processes read their settings from here
    db = Database(settings.resolved_tracking_uri)
    db.upgrade()
    service = PipelineService(settings, db)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    service.start()
    click.echo(
        f"trackflow scheduler on {settings.resolved_tracking_uri}, dags in {settings.resolved_dags_folder}", err=True
    )
    try:
        while not stop.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        db.dispose()
