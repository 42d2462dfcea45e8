"""Every URL the web UI links to, built in one place (datasette's url_builder idea).

Path segments are percent-encoded, so ids holding ``:``, ``+``, spaces or quotes (DAG run ids,
model names, metric keys) survive the round trip; query strings drop empty values.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

# The JSON twins of the pages live under this prefix (see ui/api.py).
API_PREFIX = "/api/v1/ui"


def _seg(value: str | int) -> str:
    return quote(str(value), safe="")


def _query(url: str, **params: str | int | None) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(clean)}" if clean else url


class Urls:
    """URLs of UI pages, downloads and static files."""

    @staticmethod
    def static(name: str) -> str:
        return f"/static/ui/{quote(name)}"

    # Tracking ------------------------------------------------------------------------------
    @staticmethod
    def experiments(page_token: str | None = None) -> str:
        return _query("/experiments", page_token=page_token)

    @staticmethod
    def experiment(
        experiment_id: str,
        filter: str | None = None,
        order_by: str | None = None,
        page_token: str | None = None,
        show_deleted: bool = False,
    ) -> str:
        return _query(f"/experiments/{_seg(experiment_id)}", filter=filter, order_by=order_by, page_token=page_token,
                      show_deleted="true" if show_deleted else None)

    @staticmethod
    def compare(experiment_id: str, run_ids: list[str] | None = None) -> str:
        url = f"/experiments/{_seg(experiment_id)}/compare"
        return f"{url}?{urlencode([('runs', r) for r in run_ids])}" if run_ids else url

    @staticmethod
    def run(run_id: str) -> str:
        return f"/runs/{_seg(run_id)}"

    @staticmethod
    def evaluation(run_id: str) -> str:
        return f"/runs/{_seg(run_id)}/evaluation"

    @staticmethod
    def artifact(run_id: str, path: str, model_id: str | None = None, download: bool = False) -> str:
        """A file of the run's artifacts, or of one of its logged models (``model_id``); with
        ``download`` always as an attachment."""
        url = f"/runs/{_seg(run_id)}/artifacts/{quote(path)}"
        return _query(url, model_id=model_id, download=1 if download else None)

    @staticmethod
    def traces(experiment_id: str, filter: str | None = None, order: str | None = None,
               page_token: str | None = None) -> str:
        return _query(f"/experiments/{_seg(experiment_id)}/traces", filter=filter, order=order, page_token=page_token)

    @staticmethod
    def trace(trace_id: str, offset: int = 0) -> str:
        return _query(f"/traces/{_seg(trace_id)}", offset=offset or None)

    # Registry ------------------------------------------------------------------------------
    @staticmethod
    def models(page_token: str | None = None) -> str:
        return _query("/models", page_token=page_token)

    @staticmethod
    def model(name: str, page_token: str | None = None) -> str:
        return _query(f"/models/{_seg(name)}", page_token=page_token)

    @staticmethod
    def audit(username: str | None = None, since: str | None = None, before: int | None = None) -> str:
        return _query("/audit", username=username, since=since, before=before)

    @staticmethod
    def prompts(page_token: str | None = None) -> str:
        return _query("/prompts", page_token=page_token)

    @staticmethod
    def prompt(name: str) -> str:
        return f"/prompts/{_seg(name)}"

    @staticmethod
    def model_version(name: str, version: str) -> str:
        return f"/models/{_seg(name)}/versions/{_seg(version)}"

    # Pipelines -----------------------------------------------------------------------------
    @staticmethod
    def dags() -> str:
        return "/dags"

    @staticmethod
    def dag(dag_id: str, offset: int = 0) -> str:
        return _query(f"/dags/{_seg(dag_id)}", offset=offset or None)

    @staticmethod
    def dag_run(dag_id: str, run_id: str) -> str:
        return f"/dags/{_seg(dag_id)}/runs/{_seg(run_id)}"

    @staticmethod
    def dag_grid(dag_id: str, offset: int = 0) -> str:
        return _query(f"/dags/{_seg(dag_id)}/grid", offset=offset or None)

    @staticmethod
    def dag_graph(dag_id: str, run_id: str | None = None) -> str:
        return _query(f"/dags/{_seg(dag_id)}/graph", run_id=run_id)

    @staticmethod
    def dag_code(dag_id: str) -> str:
        return f"/dags/{_seg(dag_id)}/code"

    @staticmethod
    def dag_trigger(dag_id: str) -> str:
        return f"/dags/{_seg(dag_id)}/trigger"

    @staticmethod
    def dag_run_gantt(dag_id: str, run_id: str) -> str:
        return f"/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/gantt"

    @staticmethod
    def task(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str:
        """The task panel: ``task_prefix(dag_id, run_id) + task_suffix(task_id, map_index)``."""
        return Urls.task_prefix(dag_id, run_id) + Urls.task_suffix(task_id, map_index)

    @staticmethod
    def task_prefix(dag_id: str, run_id: str) -> str:
        # The grid joins one prefix per run with one suffix per task (10,000 cells, 250 quotes).
        return f"/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/"

    @staticmethod
    def task_suffix(task_id: str, map_index: int = -1) -> str:
        return _query(_seg(task_id), map_index=map_index if map_index >= 0 else None)

    @staticmethod
    def task_log(dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int | None = None) -> str:
        url = f"/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/{_seg(task_id)}/log"
        return _query(url, map_index=map_index if map_index >= 0 else None, try_number=try_number)

    # /api/v1 endpoints the pages' scripts call (the pages never call them server-side) -----
    @staticmethod
    def api_metric_series(run_id: str) -> str:
        return f"{API_PREFIX}/runs/{_seg(run_id)}/metric-series"

    @staticmethod
    def api_artifact_list(run_id: str) -> str:
        return f"{API_PREFIX}/runs/{_seg(run_id)}/artifacts/list"

    @staticmethod
    def api_artifact_preview(run_id: str) -> str:
        return f"{API_PREFIX}/runs/{_seg(run_id)}/artifacts/preview"

    @staticmethod
    def api_dag(dag_id: str) -> str:
        return f"/api/v1/dags/{_seg(dag_id)}"

    @staticmethod
    def api_dag_runs(dag_id: str) -> str:
        return f"/api/v1/dags/{_seg(dag_id)}/dagRuns"

    @staticmethod
    def api_clear_task(dag_id: str, run_id: str, task_id: str) -> str:
        return f"/api/v1/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances/{_seg(task_id)}/clear"

    @staticmethod
    def api_mark_task(dag_id: str, run_id: str, task_id: str) -> str:
        return f"/api/v1/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances/{_seg(task_id)}"

    @staticmethod
    def api_task_log(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
        url = f"/api/v1/dags/{_seg(dag_id)}/dagRuns/{_seg(run_id)}/taskInstances/{_seg(task_id)}/logs"
        return _query(url, map_index=map_index if map_index >= 0 else None, try_number=try_number)

    # The edits the pages make (static/editing.js) -------------------------------------------
    @staticmethod
    def api_experiment(experiment_id: str) -> str:
        return f"/api/v1/experiments/{_seg(experiment_id)}"

    @staticmethod
    def api_run(run_id: str) -> str:
        return f"/api/v1/runs/{_seg(run_id)}"

    @staticmethod
    def api_model(name: str) -> str:
        return f"/api/v1/registered-models/{_seg(name)}"

    @staticmethod
    def api_model_version(name: str, version: str) -> str:
        return f"/api/v1/registered-models/{_seg(name)}/versions/{_seg(version)}"

    @staticmethod
    def ui_api(page_url: str) -> str:
        """The JSON twin of a page (same path under /api/v1/ui)."""
        return API_PREFIX + page_url
