"""RegistryStore over trackflow's /api/v1 (remote mode)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from trackflow.entities import PagedList
from trackflow.entities.registry import ModelVersion, RegisteredModel, RegistryEvent
from trackflow.store.rest import registry_codec as codec
from trackflow.store.rest.http import HttpJsonClient


def _q(value: object) -> str:
    return quote(str(value), safe="")


class RestRegistryStore:
    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.http = HttpJsonClient(self.base_url + "/api/v1", token=token)

    def _model(self, name: str) -> str:
        return f"/registered-models/{_q(name)}"

    def _version(self, name: str, version: str) -> str:
        return f"{self._model(name)}/versions/{_q(version)}"

    # Registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        body = {"name": name, "tags": tags or {}, "description": description}
        return codec.model_from_json(self.http.call("POST", "/registered-models", body))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return codec.model_from_json(self.http.call("GET", self._model(name)))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return codec.model_from_json(self.http.call("PATCH", self._model(name), {"new_name": new_name}))

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        return codec.model_from_json(self.http.call("PATCH", self._model(name), {"description": description}))

    def delete_registered_model(self, name: str) -> None:
        self.http.call("DELETE", self._model(name))

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        body = {"filter": filter_string, "max_results": max_results, "order_by": list(order_by or []),
                "page_token": page_token}
        data = self.http.call("POST", "/registered-models/search", body)
        return PagedList([codec.model_from_json(m) for m in data["registered_models"]], data.get("next_page_token"))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self.http.call("PUT", f"{self._model(name)}/tags", {"key": key, "value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self.http.call("DELETE", f"{self._model(name)}/tags", params={"key": key})

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
        body = {"source": source, "run_id": run_id, "tags": tags or {}, "run_link": run_link,
                "description": description, "user_id": user_id}
        return codec.version_from_json(self.http.call("POST", f"{self._model(name)}/versions", body))

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        return codec.version_from_json(self.http.call("GET", self._version(name, version)))

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion:
        return codec.version_from_json(
            self.http.call("PATCH", self._version(name, version), {"description": description})
        )

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        body = {"stage": stage, "archive_existing_versions": archive_existing_versions}
        return codec.version_from_json(self.http.call("POST", f"{self._version(name, version)}/stage", body))

    def delete_model_version(self, name: str, version: str) -> None:
        self.http.call("DELETE", self._version(name, version))

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        params: dict[str, Any] = {"stages": list(stages)} if stages else {}
        data = self.http.call("GET", f"{self._model(name)}/latest-versions", params=params)
        return [codec.version_from_json(v) for v in data["model_versions"]]

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        body = {"filter": filter_string, "max_results": max_results, "order_by": list(order_by or []),
                "page_token": page_token}
        data = self.http.call("POST", "/model-versions/search", body)
        return PagedList([codec.version_from_json(v) for v in data["model_versions"]], data.get("next_page_token"))

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self.http.call("PUT", f"{self._version(name, version)}/tags", {"key": key, "value": value})

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        self.http.call("DELETE", f"{self._version(name, version)}/tags", params={"key": key})

    # Aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        self.http.call("PUT", f"{self._model(name)}/aliases/{_q(alias)}", {"version": str(version)})

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self.http.call("DELETE", f"{self._model(name)}/aliases/{_q(alias)}")

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return codec.version_from_json(self.http.call("GET", f"{self._model(name)}/aliases/{_q(alias)}"))

    # Events ------------------------------------------------------------------------------
    def list_events(
        self, name: str | None = None, after_event_id: int = 0, max_results: int = 1000
    ) -> list[RegistryEvent]:
        params: dict[str, Any] = {"after_event_id": after_event_id, "max_results": max_results}
        if name is not None:
            params["name"] = name
        data = self.http.call("GET", "/registry/events", params=params)
        return [codec.event_from_json(e) for e in data["events"]]
