"""`trackflow worker`: a Celery worker that runs task tries for the Celery executor."""

from __future__ import annotations

import os

import click

from trackflow.config import Settings
from trackflow.errors import TrackflowError


def _queues(value: str) -> list[str]:
    names = [q.strip() for q in value.split(",")]
    if not value.strip() or any(not q for q in names):
        raise click.BadParameter(f"{value!r} is not a comma-separated list of queue names")
    return names


@click.command()
@click.option("--queues", default="default", show_default=True,
              help="Comma-separated Celery queues to take tasks from (a task's queue= names one).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=None,
              help="Task tries at once on this worker (default: the parallelism setting).")
@click.option("--broker-url", help="Celery broker URL (default: the celery_broker_url setting).")
@click.option("--dags-folder", help="Where this worker finds the DAG files, if not at the scheduler's path.")
@click.option("--name", help="Celery node name (default: trackflow-<pid>@<host>).")
@click.pass_obj
def worker(settings: Settings, queues: str, concurrency: int | None, broker_url: str | None,
           dags_folder: str | None, name: str | None) -> None:
    """Run task tries sent by a scheduler whose executor is "celery", until interrupted.

    The worker needs the broker, the trackflow server's address (each task message names it)
    and the DAG files; never the database."""
    queue_names = _queues(queues)
    settings = settings.with_overrides(celery_broker_url=broker_url, dags_folder=dags_folder)
    try:
        from trackflow.pipelines.executors.celery import worker_app
    except ImportError:
        raise TrackflowError("the Celery executor needs celery: pip install 'trackflow[celery]'") from None
    app = worker_app(settings)
    try:  # fail in one line now rather than retry forever inside Celery
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=2, interval_start=0.2, interval_step=0.5)
    except Exception as exc:
        raise TrackflowError(f"cannot reach the Celery broker at {settings.celery_broker_url}: {exc}") from None
    app.worker_main([
        "worker", "--queues", ",".join(queue_names), "--concurrency", str(concurrency or settings.parallelism),
        "--hostname", name or f"trackflow-{os.getpid()}@%h", "--pool", "prefork", "--loglevel", "INFO",
        "--without-gossip", "--without-mingle",
    ])
