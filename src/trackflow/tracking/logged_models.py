"""Logged-model methods of ``trackflow.Client`` (MLflow 3's MlflowClient names and arguments).

A logged model is a model as a record of its own (``m-<32 hex>``), with artifacts at
``<experiment location>/models/<model_id>/artifacts``; ``models:/<model_id>`` names it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from trackflow.artifacts import ArtifactRepository
from trackflow.entities import (
    DatasetFilter,
    LoggedModel,
    LoggedModelOrder,
    LoggedModelStatus,
    ModelOutput,
    PagedList,
    Run,
)
from trackflow.errors import InvalidInput, NotFound
from trackflow.store.base import TrackingStore


def logged_model_id(uri: str) -> str | None:
    """The id in a ``models:/<model_id>`` URI (one path segment, no ``@``, as MLflow parses it), else None."""
    if not uri.startswith("models:/"):
        return None
    body = uri[len("models:/") :]
    if not body or "/" in body or "@" in body:
        return None
    return unquote(body)


def _str_map(values: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): v if isinstance(v, str) else str(v) for k, v in (values or {}).items()}


def _dataset(value: DatasetFilter | Mapping[str, Any]) -> DatasetFilter:
    if isinstance(value, DatasetFilter):
        return value
    return DatasetFilter(str(value.get("dataset_name") or ""), value.get("dataset_digest") or None)


def _order(value: LoggedModelOrder | Mapping[str, Any] | str) -> LoggedModelOrder:
    if isinstance(value, LoggedModelOrder):
        return value
    if isinstance(value, str):  # "metrics.acc DESC", as search_runs takes it
        field, _, direction = value.strip().partition(" ")
        return LoggedModelOrder(field, direction.strip().upper() != "DESC")
    if "field_name" not in value:
        raise InvalidInput(f"an order_by entry needs a field_name, got {value!r}")
    return LoggedModelOrder(
        str(value["field_name"]),
        bool(value.get("ascending", True)),
        value.get("dataset_name") or None,
        value.get("dataset_digest") or None,
    )


class LoggedModelClientMixin:
    """Needs ``self.store``, ``self.get_run`` and ``self.artifact_repository_at`` (the tracking Client)."""

    store: TrackingStore

    def get_run(self, run_id: str) -> Run:
        raise NotImplementedError  # provided by the tracking Client

    def artifact_repository_at(self, artifact_uri: str) -> ArtifactRepository:
        raise NotImplementedError  # provided by the tracking Client

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        return self.store.create_logged_model(
            str(experiment_id), name, source_run_id, _str_map(tags), _str_map(params), model_type
        )

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        return self.store.get_logged_model(model_id, allow_deleted)

    def delete_logged_model(self, model_id: str) -> None:
        self.store.delete_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus | str) -> LoggedModel:
        return self.store.finalize_logged_model(model_id, LoggedModelStatus(status))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, Any]) -> None:
        self.store.set_logged_model_tags(model_id, _str_map(tags))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.store.delete_logged_model_tag(model_id, key)

    def log_model_params(self, model_id: str, params: Mapping[str, Any]) -> None:
        self.store.log_logged_model_params(model_id, _str_map(params))

    def search_logged_models(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str | None = None,
        datasets: Sequence[DatasetFilter | Mapping[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrder | Mapping[str, Any] | str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of the active logged models matching ``filter_string`` (MLflow's grammar:
        ``name = 'x' AND metrics.acc > 0.9 AND params.C = '1' AND tags.t = 'v'``)."""
        ids = [experiment_ids] if isinstance(experiment_ids, str) else [str(e) for e in experiment_ids]
        return self.store.search_logged_models(
            ids,
            filter_string,
            [_dataset(d) for d in datasets or []],
            max_results,
            [_order(o) for o in order_by or []],
            page_token,
        )

    def log_outputs(self, run_id: str, models: Sequence[ModelOutput | str]) -> None:
        """Record logged models ``run_id`` produced (ids or ModelOutput with a step)."""
        self.store.log_outputs(run_id, [m if isinstance(m, ModelOutput) else ModelOutput(m) for m in models])

    def log_model_artifacts(self, model_id: str, local_dir: str | os.PathLike[str]) -> None:
        """Upload a local model directory to the logged model's artifact location."""
        if not os.path.isdir(local_dir):
            raise NotFound(f"no such directory: {str(local_dir)!r}")
        location = self.get_logged_model(model_id).artifact_location
        self.artifact_repository_at(location).log_artifacts(str(local_dir))

    def download_logged_model_artifacts(self, model_id: str, path: str = "", dst_path: str | None = None) -> str:
        """Download the logged model's artifacts (or the file or directory ``path`` of them)."""
        location = self.get_logged_model(model_id).artifact_location
        destination = dst_path or tempfile.mkdtemp(prefix="trackflow-model-")
        return self.artifact_repository_at(location).download_artifacts(path, destination)

    def find_run_model(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest logged model called ``name`` that ``run_id`` produced (how MLflow 3 resolves
        ``runs:/<run_id>/<name>`` for models logged with ``name=``), or None."""
        experiment_id = self.get_run(run_id).info.experiment_id
        escaped = name.replace("'", "''")
        token = None
        while True:
            page = self.search_logged_models([experiment_id], f"name = '{escaped}'", page_token=token)
            for model in page:
                if model.source_run_id == run_id:
                    return model
            token = page.next_page_token
            if not token:
                return None
