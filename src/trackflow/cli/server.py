"""`trackflow server`: the REST API, MLflow's API, the artifact proxy and (unless
``--no-scheduler``) the scheduler and local executor in one process tree."""

from __future__ import annotations

import os
import socket

import click

from trackflow.config import Settings


@click.command()
@click.option("--host", help="Interface to bind (default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (default 5000).")
@click.option("--backend-store-uri", help="Database URI (default: SQLite under TRACKFLOW_HOME).")
@click.option("--artifacts-destination", help="Directory or s3:// URI for artifacts (proxied to clients).")
@click.option("--dags-folder", help="Folder of DAG files for the scheduler.")
@click.option("--scheduler/--no-scheduler", "run_scheduler", default=True, show_default=True,
              help="Run the pipeline scheduler and local executor in this process. SQLite allows one "
                   "scheduler per database; on PostgreSQL several servers may each run one.")
@click.option("--auth/--no-auth", "auth", default=None,
              help="Require a user or an API token on every request (default: the auth setting, off).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="HTTP worker processes sharing the port (dead ones are replaced); the scheduler then runs "
                   "once, in the parent process.")
@click.pass_obj
def server(
    settings: Settings,
    host: str | None,
    port: int | None,
    backend_store_uri: str | None,
    artifacts_destination: str | None,
    dags_folder: str | None,
    run_scheduler: bool,
    auth: bool | None,
    workers: int,
) -> None:
    """Run the trackflow server."""
    import uvicorn

    from trackflow.server.app import create_app
    from trackflow.store.sql.database import require_sqlite_directory

    settings = settings.with_overrides(
        host=host,
        port=port,
        tracking_uri=backend_store_uri,
        artifacts_destination=artifacts_destination,
        dags_folder=dags_folder,
        auth=auth,
    )
    if settings.tracking_uri:  # given explicitly: a missing directory is a typo, not created
        require_sqlite_directory(settings.tracking_uri)
    # Task processes started by the scheduler read their settings from the environment.
    os.environ.update(settings.to_environ())
    listener = _bind(settings.host, settings.port)  # fail before announcing the address
    if workers > 1:
        _serve_with_workers(settings, listener, workers, run_scheduler)
        return
    app = create_app(settings, run_scheduler=run_scheduler)  # a second scheduler on SQLite fails here
    click.echo(f"trackflow server on http://{settings.host}:{settings.port}", err=True)
    _announce_auth(settings)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[listener])


def _announce_auth(settings: Settings) -> None:
    click.echo(f"auth: on (users and API tokens: `trackflow users`, `trackflow tokens`; an object nobody granted "
               f"a user is {settings.auth_default_permission} to them: `trackflow permissions`)" if settings.auth else
               "auth: off (anyone who can reach this port can read and change everything; --auth turns it on)",
               err=True)


def _serve_with_workers(settings: Settings, listener: socket.socket, workers: int, run_scheduler: bool) -> None:
    """uvicorn's supervisor: ``workers`` processes serve the app (each builds it from the
    environment set above) and are replaced when they die; this process runs the scheduler."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from trackflow.server.services import Services

    service = None
    if run_scheduler:
        from trackflow.pipelines.service import PipelineService

        services = Services.from_settings(settings)
        service = PipelineService(services.settings, services.db)
        service.claim()  # on SQLite, a second scheduler fails here
        service.start()
    click.echo(f"trackflow server on http://{settings.host}:{settings.port} ({workers} workers)", err=True)
    _announce_auth(settings)
    config = uvicorn.Config("trackflow.server.app:app_from_environment", factory=True, workers=workers,
                            host=settings.host, port=settings.port, log_level="warning", access_log=False)
    try:
        Multiprocess(config, sockets=[listener]).run()
    finally:
        if service is not None:
            service.stop()


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, or a one-line error (exit 2) when the address is taken or invalid."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.listen(2048)
    return listener
