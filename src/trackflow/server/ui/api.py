"""/api/v1/ui: each page's data as JSON, from the same data function as the page.

Errors follow the API's rules (server/errors.py): NotFound is 404, bad input 400 with a message.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from trackflow.errors import InvalidInput
from trackflow.server.api_v1.schemas import ERROR_RESPONSES, INT64_MAX, VersionPath, returns
from trackflow.server.deps import get_services
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.server.ui import (
    artifact_browser,
    audit_data,
    dag_graph,
    dag_grid,
    data,
    evaluation_data,
    pipelines_data,
    registry_data,
    traces_data,
)

router = APIRouter(tags=["ui"], responses=ERROR_RESPONSES)


class MetricSeriesOut(BaseModel):
    """data.MetricSeries as JSON: each point an [x, value] pair. (Its tuple type would document
    as JSON Schema's prefixItems, which schemathesis cannot read yet.)"""

    key: str
    x_label: str
    points: list[Annotated[list[float], Field(min_length=2, max_length=2)]]
    total_points: int
    non_finite_points: int = 0


@router.get("/experiments", **returns(data.ExperimentsPage))
def experiments(page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(data.experiments_page(s, page_token))


@router.get("/experiments/{experiment_id}", **returns(data.ExperimentPage))
def experiment(
    experiment_id: str,
    filter: str = "",
    order_by: str = "",
    page_token: str | None = None,
    show_deleted: bool = False,
    s: Services = Depends(get_services),
) -> JSONResponse:
    """The runs table: only the metric and param keys present on this page, capped."""
    page = data.experiment_page(s, experiment_id, data.RunQuery(filter, order_by, page_token, show_deleted))
    if page.error:
        raise InvalidInput(page.error)
    return JSONResponse(page)


@router.get("/runs/{run_id}", **returns(data.RunPage))
def run(run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    """A run with its latest metrics, downsampled metric series, artifacts and child runs."""
    return JSONResponse(data.run_page(s, run_id))


@router.get("/runs/{run_id}/metric-series", **returns(MetricSeriesOut))
def metric_series(
    run_id: str,
    key: str,
    max_points: int = Query(data.MAX_CHART_POINTS, ge=3, le=data.MAX_CHART_POINTS),
    x: Literal["step", "wall", "relative"] | None = None,
    x_min: float | None = Query(None, ge=-data.MAX_RANGE_BOUND, le=data.MAX_RANGE_BOUND),
    x_max: float | None = Query(None, ge=-data.MAX_RANGE_BOUND, le=data.MAX_RANGE_BOUND),
    s: Services = Depends(get_services),
) -> JSONResponse:
    """A metric's history downsampled on the server to at most ``max_points`` points. ``x``: the
    x axis (step, wall-clock seconds, or seconds since the first value); ``x_min``/``x_max``:
    keep only points in that x range before downsampling (a zoomed chart re-fetches with them)."""
    return JSONResponse(data.metric_series(s, run_id, key, max_points, x, x_min, x_max))


ArtifactPathQuery = Annotated[str, Query(max_length=4096, description="relative to the run's artifact root")]
ModelIdQuery = Annotated[str | None, Query(max_length=256, description="a logged model of the run: browse its files")]


@router.get("/runs/{run_id}/artifacts/list", **returns(artifact_browser.ArtifactListing))
def artifact_listing(run_id: str, path: ArtifactPathQuery = "", model_id: ModelIdQuery = None,
                     s: Services = Depends(get_services)) -> JSONResponse:
    """One level of the run's artifact tree: the direct children of directory ``path`` (the root
    when empty), directories first; with ``model_id``, of that logged model of the run. 404 for a
    missing directory or a model not the run's, 400 for a path leaving the root."""
    return JSONResponse(artifact_browser.run_artifact_listing(s, run_id, path, model_id or None))


@router.get("/runs/{run_id}/artifacts/preview", **returns(artifact_browser.ArtifactPreview))
def artifact_preview(run_id: str, path: ArtifactPathQuery = "", model_id: ModelIdQuery = None,
                     s: Services = Depends(get_services)) -> JSONResponse:
    """A preview of one artifact: text/JSON/YAML (first 100 KB), CSV/TSV/parquet (first 100 rows),
    images and HTML (by URL, served sandboxed), an MLmodel's flavors and signature (also for a
    directory holding one). 404 for a missing path, 400 for a path leaving the root."""
    return JSONResponse(artifact_browser.run_artifact_preview(s, run_id, path, model_id or None))


@router.get("/experiments/{experiment_id}/compare", **returns(data.ComparePage))
def compare(
    experiment_id: str,
    runs: Annotated[list[Annotated[str, Field(max_length=64)]], Query(max_length=data.MAX_COMPARED_RUNS)] = [],  # noqa: B006 (FastAPI copies it)
    s: Services = Depends(get_services),
) -> JSONResponse:
    """2 to 50 runs of the experiment side by side: latest metrics and params, differing ones flagged."""
    return JSONResponse(data.compare_page(s, experiment_id, runs))


@router.get("/experiments/{experiment_id}/traces", **returns(traces_data.TracesPage))
def traces(
    experiment_id: str,
    filter: Annotated[str, Query(max_length=10_000)] = "",  # noqa: A002 (the page's parameter)
    order: str = "newest",
    page_token: Annotated[str | None, Query(max_length=1000)] = None,
    s: Services = Depends(get_services),
) -> JSONResponse:
    page = traces_data.traces_page(s, experiment_id, filter, order, page_token)
    if page.error:
        raise InvalidInput(page.error)
    return JSONResponse(page)


@router.get("/traces/{trace_id}", **returns(traces_data.TracePage))
def trace(
    trace_id: str,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(traces_data.SPANS_PER_PAGE, ge=1, le=traces_data.MAX_SPANS_PER_PAGE),
    s: Services = Depends(get_services),
) -> JSONResponse:
    return JSONResponse(traces_data.trace_page(s, trace_id, offset, limit))


@router.get("/runs/{run_id}/evaluation", **returns(evaluation_data.EvaluationPage))
def evaluation(run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(evaluation_data.evaluation_page(s, run_id))


@router.get("/prompts", **returns(registry_data.PromptsPage))
def prompts(page_token: Annotated[str | None, Query(max_length=1000)] = None,
            s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.prompts_page(s, page_token))


@router.get("/prompts/{name}", **returns(registry_data.PromptPage))
def prompt(name: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.prompt_page(s, name))


@router.get("/models", **returns(registry_data.ModelsPage))
def models(page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.models_page(s, page_token))


@router.get("/models/{name}", **returns(registry_data.ModelPage))
def model(name: str, page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.model_page(s, name, page_token))


@router.get("/models/{name}/versions/{version}", **returns(registry_data.ModelVersionPage))
def model_version(name: str, version: VersionPath, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.model_version_page(s, name, version))


@router.get("/dags", **returns(pipelines_data.DagsPage))
def dags(s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dags_page(s))


@router.get("/dags/{dag_id}", **returns(pipelines_data.DagPage))
def dag(dag_id: str, offset: int = Query(0, ge=0, le=INT64_MAX), s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dag_page(s, dag_id, offset))


@router.get("/dags/{dag_id}/grid", **returns(dag_grid.GridPage))
def grid(
    dag_id: str,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(dag_grid.GRID_RUNS, ge=1, le=dag_grid.MAX_GRID_RUNS),
    s: Services = Depends(get_services),
) -> JSONResponse:
    """Runs x tasks: the ``limit`` newest runs after ``offset`` (oldest first), tasks in DAG order."""
    return JSONResponse(dag_grid.grid_page(s, dag_id, offset, limit))


@router.get("/dags/{dag_id}/graph", **returns(dag_graph.GraphPage))
def graph(dag_id: str, run_id: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    """Tasks, edges and task groups, with the states of one run (the newest by default)."""
    return JSONResponse(dag_graph.graph_page(s, dag_id, run_id or None))


@router.get("/dags/{dag_id}/code", **returns(pipelines_data.CodePage))
def code(dag_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.code_page(s, dag_id))


@router.get("/dags/{dag_id}/trigger", **returns(pipelines_data.TriggerPage))
def trigger(dag_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    """The trigger form's fields, one per DAG param, from its JSON schema."""
    return JSONResponse(pipelines_data.trigger_page(s, dag_id))


@router.get("/dags/{dag_id}/runs/{run_id}/gantt", **returns(dag_graph.GanttPage))
def gantt(dag_id: str, run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(dag_graph.gantt_page(s, dag_id, run_id))


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}", **returns(dag_grid.TaskPanel))
def task(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = Query(-1, ge=-1, le=INT64_MAX),
    s: Services = Depends(get_services),
) -> JSONResponse:
    """A task instance with its tries (and their tracked runs) and the URLs to clear, mark and follow its log."""
    return JSONResponse(dag_grid.task_panel(s, dag_id, run_id, task_id, map_index))


@router.get("/dags/{dag_id}/runs/{run_id}", **returns(pipelines_data.DagRunPage))
def dag_run(dag_id: str, run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dag_run_page(s, dag_id, run_id))


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/log", **returns(pipelines_data.TaskLogPage))
def task_log(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = Query(-1, ge=-1, le=INT64_MAX),
    try_number: int | None = Query(None, ge=1, le=INT64_MAX),
    s: Services = Depends(get_services),
) -> JSONResponse:
    return JSONResponse(pipelines_data.task_log_page(s, dag_id, run_id, task_id, map_index, try_number))


@router.get("/audit", **returns(audit_data.AuditPage))
def audit(username: Annotated[str, Query(max_length=150)] = "",
          since: Annotated[str, Query(max_length=64)] = "",
          before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
          s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(audit_data.audit_page(s, username, since, before))
