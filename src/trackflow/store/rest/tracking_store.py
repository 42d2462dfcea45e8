"""TrackingStore over trackflow's /api/v1 (remote mode)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from trackflow.entities import (
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from trackflow.errors import NotFound
from trackflow.store.rest import codec
from trackflow.store.rest.http import HttpJsonClient
from trackflow.store.rest.logged_model_store import LoggedModelRestMixin


def _q(value: str) -> str:
    return quote(str(value), safe="")


class RestTrackingStore(LoggedModelRestMixin):
    def __init__(self, base_url: str, token: str = "") -> None:
        self.base_url = base_url.rstrip("/")
        self.http = HttpJsonClient(self.base_url + "/api/v1", token=token)

    # Experiments -------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        body = {"name": name, "artifact_location": artifact_location, "tags": tags or {}}
        return str(self.http.call("POST", "/experiments", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return codec.experiment_from_json(self.http.call("GET", f"/experiments/{_q(experiment_id)}"))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            return codec.experiment_from_json(self.http.call("GET", "/experiments/by-name", params={"name": name}))
        except NotFound:
            return None

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        body = {
            "view_type": ViewType(view_type).value,
            "max_results": max_results,
            "filter": filter_string,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        out = self.http.call("POST", "/experiments/search", body)
        return PagedList([codec.experiment_from_json(e) for e in out["experiments"]], out.get("next_page_token"))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.http.call("PATCH", f"/experiments/{_q(experiment_id)}", {"name": new_name})

    def delete_experiment(self, experiment_id: str) -> None:
        self.http.call("DELETE", f"/experiments/{_q(experiment_id)}")

    def restore_experiment(self, experiment_id: str) -> None:
        self.http.call("POST", f"/experiments/{_q(experiment_id)}/restore")

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self.http.call("POST", f"/experiments/{_q(experiment_id)}/tags", {"key": key, "value": value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.http.call("POST", f"/experiments/{_q(experiment_id)}/tags/delete", {"key": key})

    # Runs --------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        body = {
            "experiment_id": experiment_id,
            "user_id": user_id,
            "start_time": start_time,
            "tags": [{"key": t.key, "value": t.value} for t in tags],
            "run_name": run_name,
        }
        return codec.run_from_json(self.http.call("POST", "/runs", body))

    def get_run(self, run_id: str) -> Run:
        return codec.run_from_json(self.http.call("GET", f"/runs/{_q(run_id)}"))

    def update_run_info(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        body = {"status": RunStatus(status).value if status else None, "end_time": end_time, "run_name": run_name}
        return codec.run_info_from_json(self.http.call("PATCH", f"/runs/{_q(run_id)}", body))

    def delete_run(self, run_id: str) -> None:
        self.http.call("DELETE", f"/runs/{_q(run_id)}")

    def restore_run(self, run_id: str) -> None:
        self.http.call("POST", f"/runs/{_q(run_id)}/restore")

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        self.http.call(
            "POST", f"/runs/{_q(run_id)}/batch", codec.batch_to_json(list(metrics), list(params), list(tags))
        )

    def delete_tag(self, run_id: str, key: str) -> None:
        self.http.call("POST", f"/runs/{_q(run_id)}/tags/delete", {"key": key})

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str] = ()) -> None:
        body = {"datasets": [codec.dataset_to_json(d) for d in datasets], "model_ids": list(models)}
        self.http.call("POST", f"/runs/{_q(run_id)}/inputs", body)

    def get_metric_history(
        self, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        params = {"key": key, "max_results": max_results, "page_token": page_token}
        out = self.http.call(
            "GET", f"/runs/{_q(run_id)}/metric-history", params={k: v for k, v in params.items() if v is not None}
        )
        return PagedList([codec.metric_from_json(m) for m in out["metrics"]], out.get("next_page_token"))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        body = {
            "experiment_ids": [str(e) for e in experiment_ids],
            "filter": filter_string,
            "view_type": ViewType(view_type).value,
            "max_results": max_results,
            "order_by": list(order_by or []),
            "page_token": page_token,
        }
        out = self.http.call("POST", "/runs/search", body)
        return PagedList([codec.run_from_json(r) for r in out["runs"]], out.get("next_page_token"))

    # Garbage collection ------------------------------------------------------------------
    def list_deleted(self, older_than_ms: int | None = None) -> tuple[list[Run], list[Experiment]]:
        params = {} if older_than_ms is None else {"older_than_ms": older_than_ms}
        out = self.http.call("GET", "/gc/deleted", params=params)
        return [codec.run_from_json(r) for r in out["runs"]], [
            codec.experiment_from_json(e) for e in out["experiments"]
        ]

    def purge_run(self, run_id: str) -> None:
        self.http.call("DELETE", f"/gc/runs/{_q(run_id)}")

    def purge_experiment(self, experiment_id: str) -> None:
        self.http.call("DELETE", f"/gc/experiments/{_q(experiment_id)}")
