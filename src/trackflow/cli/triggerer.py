"""`trackflow triggerer`: runs the triggers of deferred tasks (Airflow's ``airflow triggerer``).

The scheduler service starts one beside itself; run more (on PostgreSQL) to share the
triggers of many deferred tasks: each takes free ones up to ``--capacity``."""

from __future__ import annotations

import os
import signal
import sys
import threading

import click

from trackflow.config import Settings


@click.command()
@click.option("--backend-store-uri", help="Database URI (default: SQLite under TRACKFLOW_HOME).")
@click.option("--dags-folder", help="Folder of DAG files (trigger classes may live beside them).")
@click.option("--capacity", type=click.IntRange(1, 100_000), default=1000, show_default=True,
              help="Triggers this triggerer runs at most.")
@click.option("--only-run", nargs=2, hidden=True, help="DAG_ID RUN_ID: only this run's triggers (dags test).")
@click.option("--poll", type=click.FloatRange(0.01, 60), default=1.0, hidden=True)
@click.option("--parent-pid", type=int, hidden=True, help="Exit when this process (the scheduler) is gone.")
@click.pass_obj
def triggerer(settings: Settings, backend_store_uri: str | None, dags_folder: str | None, capacity: int,
              only_run: tuple[str, str] | None, poll: float, parent_pid: int | None) -> None:
    """Run the triggers of deferred tasks until interrupted (Ctrl-C or SIGTERM)."""
    from trackflow.pipelines.triggers.triggerer import Triggerer
    from trackflow.store.sql.database import Database, require_sqlite_directory

    settings = settings.with_overrides(tracking_uri=backend_store_uri, dags_folder=dags_folder)
    if settings.tracking_uri:
        require_sqlite_directory(settings.tracking_uri)
    if settings.airflow_imports:  # triggers named by Airflow import paths
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.install()
    folder = os.path.abspath(settings.resolved_dags_folder)
    if folder not in sys.path:  # as for DAG files: a trigger module beside them imports
        sys.path.append(folder)
    db = Database(settings.resolved_tracking_uri)
    db.upgrade()
    runner = Triggerer(db, capacity=capacity, poll=poll, runs=[only_run] if only_run else None)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    runner.start()
    click.echo(f"trackflow triggerer on {settings.resolved_tracking_uri} (capacity {capacity})", err=True)
    try:
        while not stop.wait(1.0):
            if parent_pid is not None and os.getppid() != parent_pid:
                click.echo("the scheduler that started this triggerer is gone: stopping", err=True)
                break
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        db.dispose()
