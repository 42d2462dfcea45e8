"""Registry methods of ``trackflow.Client`` (MLflow's MlflowClient names and arguments).

:class:`RegistryClientMixin` is mixed into the tracking Client; :class:`RegistryClient` is that
combination, usable on its own. The store follows the tracking URI: the SQL registry store
for a database URI, the REST store for an ``http(s)://`` server.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trackflow.entities import LoggedModel, PagedList, Run
from trackflow.entities.registry import ModelVersion, ModelVersionLineage, RegisteredModel, RegistryEvent
from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.registry.lineage import lineage_of
from trackflow.store.registry_base import RegistryStore
from trackflow.tracking.client import Client as TrackingClient
from trackflow.tracking.logged_models import logged_model_id


def registry_store_for(tracking_uri: str, token: str = "") -> RegistryStore:
    if tracking_uri.startswith(("http://", "https://")):
        from trackflow.store.rest.registry_store import RestRegistryStore

        return RestRegistryStore(tracking_uri, token)
    from trackflow.store.sql.registry_store import SqlRegistryStore
    from trackflow.tracking.backend import open_database

    return SqlRegistryStore(open_database(tracking_uri))


class RegistryClientMixin:
    """Needs ``self.tracking_uri`` and ``self.get_run`` (both from the tracking Client)."""

    @property
    def tracking_uri(self) -> str:
        raise NotImplementedError  # provided by the tracking Client

    @property
    def tracking_token(self) -> str:
        raise NotImplementedError  # provided by the tracking Client

    def get_run(self, run_id: str) -> Run:
        raise NotImplementedError  # provided by the tracking Client

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        raise NotImplementedError  # provided by the tracking Client

    @property
    def registry_store(self) -> RegistryStore:
        store = self.__dict__.get("_registry_store")
        if store is None:
            store = self.__dict__["_registry_store"] = registry_store_for(self.tracking_uri, self.tracking_token)
        return store

    # Registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, Any] | None = None, description: str | None = None
    ) -> RegisteredModel:
        return self.registry_store.create_registered_model(name, _str_tags(tags), description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self.registry_store.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self.registry_store.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self.registry_store.update_registered_model(name, description or "")

    def delete_registered_model(self, name: str) -> None:
        self.registry_store.delete_registered_model(name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        return self.registry_store.search_registered_models(filter_string, max_results, order_by, page_token)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self.registry_store.set_registered_model_tag(name, key, str(value))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.registry_store.delete_registered_model_tag(name, key)

    # Versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, Any] | None = None,
        run_link: str | None = None,
        description: str | None = None,
    ) -> ModelVersion:
        return self.registry_store.create_model_version(
            name, source, run_id, _str_tags(tags), run_link, description, _user()
        )

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self.registry_store.get_model_version(name, str(version))

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        return self.registry_store.update_model_version(name, str(version), description or "")

    def delete_model_version(self, name: str, version: str | int) -> None:
        self.registry_store.delete_model_version(name, str(version))

    def transition_model_version_stage(
        self, name: str, version: str | int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        return self.registry_store.transition_model_version_stage(name, str(version), stage, archive_existing_versions)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        return self.registry_store.get_latest_versions(name, stages)

    def get_latest_version(self, name: str) -> ModelVersion:
        """The highest version number of ``name`` (what ``models:/<name>/latest`` means)."""
        page = self.registry_store.search_model_versions(f"name = '{_quote(name)}'", 1, ["version_number DESC"])
        if not page.items:
            self.registry_store.get_registered_model(name)  # NotFound names a missing model
            raise NotFound(f"registered model {name!r} has no versions")
        return page.items[0]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        return self.registry_store.search_model_versions(filter_string, max_results, order_by, page_token)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        self.registry_store.set_model_version_tag(name, str(version), key, str(value))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self.registry_store.delete_model_version_tag(name, str(version), key)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self.get_model_version(name, version).source

    # Aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self.registry_store.set_registered_model_alias(name, alias, str(version))

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.registry_store.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self.registry_store.get_model_version_by_alias(name, alias)

    # Registration, events, lineage -------------------------------------------------------
    def register_model(self, model_uri: str, name: str, tags: dict[str, Any] | None = None) -> ModelVersion:
        """Create a new version of ``name`` (and the registered model if needed) from a model URI.

        ``runs:/<run_id>/<path>`` links the version to that run (which must exist);
        ``models:/<model_id>`` (a logged model) to the run that produced the model.
        """
        if not isinstance(model_uri, str) or not model_uri:
            raise InvalidInput(f"model_uri must be a non-empty string, got {model_uri!r}")
        run_id = None
        if model_uri.startswith("runs:/"):
            run_id = model_uri[len("runs:/") :].lstrip("/").split("/", 1)[0]
            self.get_run(run_id)  # NotFound names an unknown run
        elif (model_id := logged_model_id(model_uri)) is not None:
            run_id = self.get_logged_model(model_id).source_run_id  # NotFound names an unknown model
        try:
            self.create_registered_model(name)
        except AlreadyExists:
            pass
        return self.create_model_version(name, model_uri, run_id=run_id, tags=tags)

    def get_registry_events(
        self, name: str | None = None, after_event_id: int = 0, max_results: int = 1000
    ) -> list[RegistryEvent]:
        """Registry changes after ``after_event_id``, oldest first (poll with the last id seen)."""
        return self.registry_store.list_events(name, after_event_id, max_results)

    def get_model_version_lineage(self, name: str, version: str | int) -> ModelVersionLineage:
        """The version's run and, when a pipeline task made it, the DAG, DAG run and task."""
        mv = self.get_model_version(name, version)
        run = None
        if mv.run_id:
            try:
                run = self.get_run(mv.run_id)
            except NotFound:
                run = None
        return lineage_of(mv, run)


class Client(TrackingClient, RegistryClientMixin):
    """``trackflow.Client``: the tracking Client with the registry methods."""


RegistryClient = Client


def _str_tags(tags: dict[str, Any] | None) -> dict[str, str] | None:
    return {str(k): str(v) for k, v in tags.items()} if tags else None


def _quote(value: str) -> str:
    return value.replace("'", "''")


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""
