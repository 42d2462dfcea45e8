"""What the server's routes share: settings, the database and the stores built on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trackflow.artifacts import ArtifactRepository, get_artifact_repository
from trackflow.auth.credentials import Accounts
from trackflow.auth.permissions import Permissions, parse_level
from trackflow.config import Settings
from trackflow.store.sql import Database, SqlTrackingStore
from trackflow.store.sql.auth_store import SqlAuthStore
from trackflow.store.sql.trace_store import SqlTraceStore
from trackflow.tracking.backend import PROXIED_ARTIFACT_ROOT, deployment_settings


@dataclass
class Services:
    settings: Settings
    db: Database
    tracking: SqlTrackingStore
    traces: SqlTraceStore
    accounts: Accounts | None = None  # users and API tokens (checked when settings.auth is on)
    permissions: Permissions | None = None  # who may do what with each object (auth on)
    # Other domains (registry, pipelines) keep their long-lived objects here by name.
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        db = Database(settings.resolved_tracking_uri)
        db.upgrade()
        settings = deployment_settings(db, settings, authority=True)  # one artifact root per deployment
        auth_store = SqlAuthStore(db)
        return cls(settings=settings, db=db, tracking=SqlTrackingStore(db, PROXIED_ARTIFACT_ROOT),
                   traces=SqlTraceStore(db), accounts=Accounts(auth_store),
                   permissions=Permissions(auth_store, parse_level(settings.auth_default_permission)))

    def artifact_destination(self) -> ArtifactRepository:
        """The repository the artifact proxy reads and writes."""
        return get_artifact_repository(self.settings.resolved_artifacts_destination)

    def run_artifacts(self, artifact_uri: str) -> ArtifactRepository:
        """The repository of one run's artifact URI, resolved on the server side."""
        return get_artifact_repository(artifact_uri, proxy_destination=self.settings.resolved_artifacts_destination)
