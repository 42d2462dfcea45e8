"""Where code outside a task (the CLI, a script) reads and changes pipeline state such as
Variables and Connections: the /api/v1 of the server the tracking URI names, else the
deployment's own database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from trackflow.config import Settings
from trackflow.store.rest.http import HttpJsonClient, server_api
from trackflow.store.sql.database import Database

Store = TypeVar("Store")


def server_or_database(settings: Settings,
                       make_store: Callable[[Database], Store]) -> tuple[HttpJsonClient | None, Store | None]:
    """(the server's API client, None) or (None, the store ``make_store`` builds on the database)."""
    http = server_api(settings)
    if http is not None:
        return http, None
    from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
    from trackflow.pipelines.runtime.task_runner import open_db

    return None, make_store(open_db(pipeline_db_uri(settings)))
