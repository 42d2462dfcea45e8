"""The model registry store interface.

Implemented by ``sql.registry_store.SqlRegistryStore`` and ``rest.registry_store.RestRegistryStore``.
Each method is one transaction, and every change appends a RegistryEvent in that same
transaction, so the event log never disagrees with the registry. Unknown names or versions
raise NotFound, bad values InvalidInput, taken names AlreadyExists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackflow.entities import PagedList
from trackflow.entities.registry import ModelVersion, RegisteredModel, RegistryEvent


class RegistryStore(Protocol):
    # Registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        """AlreadyExists if the name is taken."""

    def get_registered_model(self, name: str) -> RegisteredModel:
        """With tags, aliases and the newest version in each stage (``latest_versions``, by version)."""

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Versions, tags and aliases follow. AlreadyExists if ``new_name`` is taken."""

    def update_registered_model(self, name: str, description: str) -> RegisteredModel: ...

    def delete_registered_model(self, name: str) -> None:
        """Delete the model with all its versions, tags and aliases (the events stay)."""

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        """Filter on ``name`` (=, !=, LIKE, ILIKE, IN) and ``tags.<key>``; order by ``name``,
        ``creation_timestamp`` or ``last_updated_timestamp`` (default: name ASC)."""

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """NotFound if the model has no such tag."""

    # Versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str = "",
    ) -> ModelVersion:
        """Next version number of ``name`` (numbers are never reused), status READY.
        NotFound if the registered model does not exist."""

    def get_model_version(self, name: str, version: str) -> ModelVersion: ...

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion: ...

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        """MLflow's deprecated stages (None, Staging, Production, Archived)."""

    def delete_model_version(self, name: str, version: str) -> None:
        """Removes the version, its tags and the aliases pointing at it."""

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version per stage (of all stages when ``stages`` is empty)."""

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        """Filter on ``name``, ``run_id``, ``source_path``, ``version_number``, ``status``,
        ``tags.<key>``; order by ``name``, ``version_number``, ``creation_timestamp`` or
        ``last_updated_timestamp`` (default: name ASC, version_number DESC)."""

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None: ...

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None: ...

    # Aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """NotFound if the model has no such alias."""

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...

    # Events ------------------------------------------------------------------------------
    def list_events(
        self, name: str | None = None, after_event_id: int = 0, max_results: int = 1000
    ) -> list[RegistryEvent]:
        """Events with ``event_id > after_event_id`` (of one model when ``name`` is given),
        oldest first: a consumer polls with the last id it has seen."""
