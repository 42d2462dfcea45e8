"""/api/v1/ui: each page's data as JSON, from the same data function as the page.

Errors follow the API's rules (server/errors.py): NotFound is 404, bad input 400 with a message.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from trackflow.errors import InvalidInput
from trackflow.server.deps import get_services
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.server.ui import data, pipelines_data, registry_data

router = APIRouter(tags=["ui"])


@router.get("/experiments")
def experiments(page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(data.experiments_page(s, page_token))


@router.get("/experiments/{experiment_id}")
def experiment(
    experiment_id: str,
    filter: str = "",
    order_by: str = "",
    page_token: str | None = None,
    s: Services = Depends(get_services),
) -> JSONResponse:
    """The runs table: only the metric and param keys present on this page, capped."""
    page = data.experiment_page(s, experiment_id, data.RunQuery(filter, order_by, page_token))
    if page.error:
        raise InvalidInput(page.error)
    return JSONResponse(page)


@router.get("/runs/{run_id}")
def run(run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    """A run with its latest metrics, downsampled metric series, artifacts and child runs."""
    return JSONResponse(data.run_page(s, run_id))


@router.get("/runs/{run_id}/metric-series")
def metric_series(
    run_id: str, key: str, max_points: int = data.MAX_CHART_POINTS, s: Services = Depends(get_services)
) -> JSONResponse:
    """A metric's history downsampled on the server to at most ``max_points`` points."""
    return JSONResponse(data.metric_series(s, run_id, key, max_points))


@router.get("/models")
def models(page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.models_page(s, page_token))


@router.get("/models/{name}")
def model(name: str, page_token: str | None = None, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.model_page(s, name, page_token))


@router.get("/models/{name}/versions/{version}")
def model_version(name: str, version: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(registry_data.model_version_page(s, name, version))


@router.get("/dags")
def dags(s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dags_page(s))


@router.get("/dags/{dag_id}")
def dag(dag_id: str, offset: int = 0, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dag_page(s, dag_id, offset))


@router.get("/dags/{dag_id}/runs/{run_id}")
def dag_run(dag_id: str, run_id: str, s: Services = Depends(get_services)) -> JSONResponse:
    return JSONResponse(pipelines_data.dag_run_page(s, dag_id, run_id))


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/log")
def task_log(
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int | None = None,
    s: Services = Depends(get_services),
) -> JSONResponse:
    return JSONResponse(pipelines_data.task_log_page(s, dag_id, run_id, task_id, map_index, try_number))
