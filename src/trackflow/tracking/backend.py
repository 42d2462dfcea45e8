"""Turn a tracking URI into a store plus a way to reach run artifacts.

``http(s)://`` gives the REST store (artifacts through the server's proxy); ``sqlite:///``
and ``postgresql://`` give the embedded SQL store (artifacts straight from the artifacts
destination). Experiments get ``mlflow-artifacts:/<id>`` locations in both modes, so one
database works embedded and behind a server alike.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from trackflow.artifacts import ArtifactRepository, get_artifact_repository
from trackflow.config import Settings, load_settings
from trackflow.errors import InvalidInput
from trackflow.store.base import TrackingStore
from trackflow.store.trace_base import TraceStore

if TYPE_CHECKING:
    from trackflow.store.sql.database import Database

PROXIED_ARTIFACT_ROOT = "mlflow-artifacts:"

# The URI set by trackflow.set_tracking_uri(): the default of every Client in this process.
_default_tracking_uri: list[str | None] = [None]

# Engines are costly and pool connections: one per database URI per process.
_databases: dict[str, Database] = {}
_databases_lock = threading.Lock()


def open_database(uri: str) -> Database:
    """The process-wide Database for ``uri``, migrated to the newest schema on first use."""
    from trackflow.store.sql.database import Database  # SQLAlchemy loads only in embedded mode

    with _databases_lock:
        db = _databases.get(uri)
        if db is None:
            db = Database(uri)
            db.upgrade()
            _databases[uri] = db
        return db


def deployment_settings(db: Database, settings: Settings, authority: bool = False) -> Settings:
    """``settings`` with the deployment's artifacts destination, kept in the database.

    The first process to open a database records the destination it uses. A server
    (``authority``) given one explicitly records it over the old one; any other process given
    one explicitly uses it for itself; a process given none uses the recorded one."""
    from trackflow.store.sql.deployment import ARTIFACTS_DESTINATION, record_setting

    explicit = settings.artifacts_destination
    recorded = record_setting(db, ARTIFACTS_DESTINATION, settings.resolved_artifacts_destination,
                              replace=authority and bool(explicit))
    return settings if explicit else replace(settings, artifacts_destination=recorded)


def set_default_tracking_uri(uri: str | None) -> None:
    _default_tracking_uri[0] = uri


@dataclass
class Backend:
    tracking_uri: str
    store: TrackingStore
    settings: Settings

    @property
    def is_remote(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def trace_store(self) -> TraceStore:
        """Where this backend's traces go: the server (OTLP and /api/v1/traces) or the database."""
        if self.is_remote:
            from trackflow.store.rest.trace_store import RestTraceStore

            return RestTraceStore(self.tracking_uri, self.settings.tracking_token)
        from trackflow.store.sql.trace_store import SqlTraceStore

        return SqlTraceStore(open_database(self.tracking_uri))

    def artifact_repository(self, artifact_uri: str) -> ArtifactRepository:
        if self.is_remote:
            return get_artifact_repository(artifact_uri, tracking_base_url=self.tracking_uri,
                                           token=self.settings.tracking_token)
        return get_artifact_repository(artifact_uri, proxy_destination=self.settings.resolved_artifacts_destination)


def resolve_backend(tracking_uri: str | None = None, settings: Settings | None = None) -> Backend:
    if settings is None:  # no explicit settings: set_tracking_uri() wins over the configured URI
        settings = load_settings()
        uri = tracking_uri or _default_tracking_uri[0] or settings.resolved_tracking_uri
    else:
        uri = tracking_uri or settings.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        from trackflow.store.rest import RestTrackingStore

        return Backend(uri, RestTrackingStore(uri, settings.tracking_token), settings)
    if uri.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+psycopg:")):
        from trackflow.store.sql import SqlTrackingStore
        from trackflow.store.sql.database import require_sqlite_directory

        if uri != replace(settings, tracking_uri="").resolved_tracking_uri:
            require_sqlite_directory(uri)  # a URI given explicitly creates no directories; the default home does
        db = open_database(uri)
        return Backend(uri, SqlTrackingStore(db, PROXIED_ARTIFACT_ROOT), deployment_settings(db, settings))
    raise InvalidInput(
        f"unsupported tracking URI {uri!r}: use http(s)://host:port, sqlite:///path.db or postgresql://..."
    )
