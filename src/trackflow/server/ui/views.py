"""The web UI's pages: server-rendered HTML, one route per page, each a thin shell around
its data function (ui/data.py, registry_data.py, pipelines_data.py)."""

from __future__ import annotations

import mimetypes
from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from trackflow.artifacts import safe_relative_path
from trackflow.auth.permissions import DAG, EXPERIMENT, REGISTERED_MODEL
from trackflow.server.access import may_edit, readable_only
from trackflow.server.api_v1.schemas import INT64_MAX
from trackflow.server.deps import get_services
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
from trackflow.server.ui.charts import metric_chart_svg
from trackflow.server.ui.templating import HtmlErrorRoute, render
from trackflow.server.ui.urls import Urls

router = APIRouter(route_class=HtmlErrorRoute, include_in_schema=False)

# Artifacts the browser may display in place (the preview pane's <img> and sandboxed <iframe>);
# anything else is sent as a download.
_INLINE_TYPES = frozenset({
    "text/plain", "application/json", "image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml",
    "text/html",
})
# Every artifact is served under this policy: an HTML or SVG artifact, framed by the preview or
# opened directly, is sandboxed (no script, an opaque origin), loads nothing from the network and
# can be framed only by this site's pages.
ARTIFACT_CSP = ("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
                "media-src data:; frame-ancestors 'self'")


@router.get("/")
def home() -> RedirectResponse:
    # Browsers keep the URL fragment across this redirect, so the links the MLflow client prints
    # (/#/experiments/<id>/runs/<run_id>) arrive on the experiments page, whose static/mlflow_links.js
    # sends them on to the run's or experiment's page.
    return RedirectResponse(Urls.experiments(), status_code=302)


# Tracking ----------------------------------------------------------------------------------
@router.get("/experiments")
def experiments(request: Request, page_token: str | None = None, s: Services = Depends(get_services)) -> HTMLResponse:
    page = data.experiments_page(s, page_token)
    page = replace(page, experiments=readable_only(request, page.experiments, EXPERIMENT, lambda e: e.experiment_id))
    return render(request, "experiments.html", title="Experiments", page=page)


@router.get("/experiments/{experiment_id}")
def experiment(
    request: Request,
    experiment_id: str,
    filter: str = "",
    order_by: str = "",
    page_token: str | None = None,
    show_deleted: bool = False,
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = data.experiment_page(s, experiment_id, data.RunQuery(filter, order_by, page_token, show_deleted))
    status = 400 if page.error else 200
    return render(request, "experiment.html", status, title=page.experiment.name, page=page,
                  editable=may_edit(request, EXPERIMENT, page.experiment.experiment_id))


@router.get("/experiments/{experiment_id}/compare")
def compare(
    request: Request,
    experiment_id: str,
    runs: Annotated[list[str], Query()] = [],  # noqa: B006 (FastAPI copies it)
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = data.compare_page(s, experiment_id, runs)
    return render(request, "compare.html", title=f"Compare {len(page.runs)} runs", page=page)


@router.get("/runs/{run_id}")
def run(request: Request, run_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    page = data.run_page(s, run_id)
    charts = [(series, Markup(metric_chart_svg(series))) for series in page.charts]  # noqa: S704 - pygal output, no user text
    return render(request, "run.html", title=page.run.info.run_name or run_id, page=page, charts=charts,
                  editable=may_edit(request, EXPERIMENT, page.run.info.experiment_id))


@router.get("/runs/{run_id}/evaluation")
def evaluation(request: Request, run_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    page = evaluation_data.evaluation_page(s, run_id)
    return render(request, "evaluation.html", title=f"{page.run_name} · evaluation", page=page)


@router.get("/runs/{run_id}/artifacts/{path:path}")
async def artifact(
    run_id: str,
    path: str,
    download: bool = False,
    model_id: Annotated[str | None, Query(max_length=256)] = None,
    s: Services = Depends(get_services),
) -> StreamingResponse:
    """The artifact file (of the run, or of its logged model ``model_id``), streamed: shown in
    place when its type is safe to (``download=1``: always as an attachment)."""
    relative = safe_relative_path(path)
    repo = await run_in_threadpool(artifact_browser.run_repository, s, run_id, model_id or None)
    chunks = await run_in_threadpool(repo.open_read, relative)
    media_type = mimetypes.guess_type(relative)[0] or "application/octet-stream"
    name = relative.rsplit("/", 1)[-1]
    inline = media_type in _INLINE_TYPES and not download
    quoted = quote(name, safe="")
    headers = {
        "Content-Disposition": f"{'inline' if inline else 'attachment'}; filename=\"{_ascii_name(name)}\"; "
                               f"filename*=UTF-8''{quoted}",
        "Content-Security-Policy": ARTIFACT_CSP,
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(chunks, media_type=media_type if inline else "application/octet-stream", headers=headers)


def _ascii_name(name: str) -> str:
    """The file name for clients that read only ``filename=``: ASCII, no quote or backslash."""
    return "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name)


# Traces ------------------------------------------------------------------------------------
@router.get("/experiments/{experiment_id}/traces")
def traces(
    request: Request,
    experiment_id: str,
    filter: str = "",
    order: str = "newest",
    page_token: str | None = None,
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = traces_data.traces_page(s, experiment_id, filter, order, page_token)
    return render(request, "traces.html", 400 if page.error else 200, title=f"{page.experiment_name} · traces",
                  page=page)


@router.get("/traces/{trace_id}")
def trace(
    request: Request,
    trace_id: str,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(traces_data.SPANS_PER_PAGE, ge=1, le=traces_data.MAX_SPANS_PER_PAGE),
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = traces_data.trace_page(s, trace_id, offset, limit)
    return render(request, "trace.html", title=page.name or trace_id, page=page)


# Registry ----------------------------------------------------------------------------------
@router.get("/models")
def models(request: Request, page_token: str | None = None, s: Services = Depends(get_services)) -> HTMLResponse:
    page = registry_data.models_page(s, page_token)
    page = replace(page, models=readable_only(request, page.models, REGISTERED_MODEL, lambda m: m.name))
    return render(request, "models.html", title="Registered models", page=page)


@router.get("/models/{name}")
def model(
    request: Request, name: str, page_token: str | None = None, s: Services = Depends(get_services)
) -> HTMLResponse:
    page = registry_data.model_page(s, name, page_token)
    return render(request, "model.html", title=name, page=page, editable=may_edit(request, REGISTERED_MODEL, name))


@router.get("/models/{name}/versions/{version}")
def model_version(request: Request, name: str, version: str, s: Services = Depends(get_services)) -> HTMLResponse:
    page = registry_data.model_version_page(s, name, version)
    return render(request, "model_version.html", title=f"{name} v{version}", page=page,
                  editable=may_edit(request, REGISTERED_MODEL, name))


@router.get("/audit")
def audit(request: Request, username: Annotated[str, Query(max_length=150)] = "",
          since: Annotated[str, Query(max_length=64)] = "",
          before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
          s: Services = Depends(get_services)) -> HTMLResponse:
    page = audit_data.audit_page(s, username, since, before)
    return render(request, "audit.html", title="Audit log", page=page)


@router.get("/prompts")
def prompts(request: Request, page_token: str | None = None, s: Services = Depends(get_services)) -> HTMLResponse:
    page = registry_data.prompts_page(s, page_token)
    page = replace(page, prompts=readable_only(request, page.prompts, REGISTERED_MODEL, lambda m: m.name))
    return render(request, "prompts.html", title="Prompts", page=page)


@router.get("/prompts/{name}")
def prompt(request: Request, name: str, s: Services = Depends(get_services)) -> HTMLResponse:
    return render(request, "prompt.html", title=name, page=registry_data.prompt_page(s, name))


# Pipelines ---------------------------------------------------------------------------------
@router.get("/dags")
def dags(request: Request, s: Services = Depends(get_services)) -> HTMLResponse:
    page = pipelines_data.dags_page(s)
    page = replace(page, dags=readable_only(request, page.dags, DAG, lambda d: d.dag_id))
    return render(request, "dags.html", title="DAGs", page=page)


@router.get("/dags/{dag_id}")
def dag(request: Request, dag_id: str, offset: int = 0, s: Services = Depends(get_services)) -> HTMLResponse:
    return render(request, "dag.html", title=dag_id, page=pipelines_data.dag_page(s, dag_id, offset))


@router.get("/dags/{dag_id}/grid")
def grid(
    request: Request,
    dag_id: str,
    offset: int = Query(0, ge=0, le=INT64_MAX),
    limit: int = Query(dag_grid.GRID_RUNS, ge=1, le=dag_grid.MAX_GRID_RUNS),
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = dag_grid.grid_page(s, dag_id, offset, limit)
    return render(request, "grid.html", title=f"{dag_id} · grid", page=page, live=page.live)


@router.get("/dags/{dag_id}/graph")
def graph(
    request: Request, dag_id: str, run_id: str | None = None, s: Services = Depends(get_services)
) -> HTMLResponse:
    page = dag_graph.graph_page(s, dag_id, run_id or None)
    # In a <script type="application/json">: "</" must not close the element.
    payload = orjson.dumps(page).decode().replace("</", "<\\/")
    page_data = Markup(payload)  # noqa: S704 - JSON with "</" escaped, inside a JSON script element
    return render(request, "graph.html", title=f"{dag_id} · graph", page=page, graph_json=page_data)


@router.get("/dags/{dag_id}/code")
def code(request: Request, dag_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    return render(request, "code.html", title=f"{dag_id} · code", page=pipelines_data.code_page(s, dag_id))


@router.get("/dags/{dag_id}/trigger")
def trigger(request: Request, dag_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    return render(request, "trigger.html", title=f"Trigger {dag_id}", page=pipelines_data.trigger_page(s, dag_id))


@router.get("/dags/{dag_id}/runs/{run_id}/gantt")
def gantt(request: Request, dag_id: str, run_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    page = dag_graph.gantt_page(s, dag_id, run_id)
    return render(request, "gantt.html", title=f"{run_id} · gantt", page=page, live=page.live)


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}")
def task(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = Query(-1, ge=-1, le=INT64_MAX),
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = dag_grid.task_panel(s, dag_id, run_id, task_id, map_index)
    suffix = f"[{map_index}]" if map_index >= 0 else ""
    return render(request, "task.html", title=f"{task_id}{suffix} · {run_id}", page=page)


@router.get("/dags/{dag_id}/runs/{run_id}")
def dag_run(request: Request, dag_id: str, run_id: str, s: Services = Depends(get_services)) -> HTMLResponse:
    page = pipelines_data.dag_run_page(s, dag_id, run_id)
    return render(request, "dag_run.html", title=f"{dag_id} · {run_id}", page=page, live=page.live)


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/log")
def task_log(
    request: Request,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int = -1,
    try_number: int | None = None,
    s: Services = Depends(get_services),
) -> HTMLResponse:
    page = pipelines_data.task_log_page(s, dag_id, run_id, task_id, map_index, try_number)
    return render(request, "task_log.html", title=f"{task_id} log", page=page, live=page.live)
