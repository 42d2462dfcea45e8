"""The logged-model half of RestTrackingStore (remote mode), over /api/v1/logged-models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

from trackflow.entities import (
    DatasetFilter,
    LoggedModel,
    LoggedModelOrder,
    LoggedModelStatus,
    ModelOutput,
    PagedList,
)
from trackflow.store.rest.http import HttpJsonClient
from trackflow.store.rest.logged_model_codec import (
    dataset_filter_to_json,
    logged_model_from_json,
    order_to_json,
)


def _model(model_id: str) -> str:
    return f"/logged-models/{quote(str(model_id), safe='')}"


class LoggedModelRestMixin:
    http: HttpJsonClient

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        body = {
            "experiment_id": experiment_id,
            "name": name,
            "source_run_id": source_run_id,
            "tags": dict(tags or {}),
            "params": dict(params or {}),
            "model_type": model_type,
        }
        return logged_model_from_json(self.http.call("POST", "/logged-models", body))

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        params = {"allow_deleted": "true"} if allow_deleted else None
        return logged_model_from_json(self.http.call("GET", _model(model_id), params=params))

    def delete_logged_model(self, model_id: str) -> None:
        self.http.call("DELETE", _model(model_id))

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        body = {"status": LoggedModelStatus(status).value}
        return logged_model_from_json(self.http.call("POST", f"{_model(model_id)}/finalize", body))

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        self.http.call("POST", f"{_model(model_id)}/tags", {"tags": dict(tags)})

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self.http.call("POST", f"{_model(model_id)}/tags/delete", {"key": key})

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        self.http.call("POST", f"{_model(model_id)}/params", {"params": dict(params)})

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[DatasetFilter] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrder] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "datasets": [dataset_filter_to_json(d) for d in datasets or []],
            "max_results": max_results,
            "order_by": [order_to_json(o) for o in order_by or []],
            "page_token": page_token,
        }
        out = self.http.call("POST", "/logged-models/search", body)
        return PagedList([logged_model_from_json(m) for m in out["models"]], out.get("next_page_token"))

    def log_outputs(self, run_id: str, models: Sequence[ModelOutput]) -> None:
        body = {"models": [{"model_id": m.model_id, "step": m.step} for m in models]}
        self.http.call("POST", f"/runs/{quote(str(run_id), safe='')}/outputs", body)
