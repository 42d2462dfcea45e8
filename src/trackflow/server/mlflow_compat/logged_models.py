"""MLflow 3's LoggedModel endpoints (``logged-models/...``) and ``runs/outputs``.

Mounted under /api/2.0/mlflow and /ajax-api/2.0/mlflow beside the tracking endpoints, so
``mlflow.<flavor>.log_model(..., name=...)``, ``mlflow.search_logged_models`` and
``models:/<model_id>`` URIs work against a trackflow server. Paths, methods, JSON shapes and
error codes follow MLflow 3.17.2's server (tests/mlflow_diff/test_logged_models.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from trackflow.artifacts import safe_relative_path
from trackflow.entities import DatasetFilter, LoggedModel, LoggedModelOrder, LoggedModelStatus, ModelOutput
from trackflow.errors import InvalidInput
from trackflow.server.mlflow_compat.codec import as_int, as_list, as_str, key_values, metric_json, read_payload
from trackflow.server.mlflow_compat.routes import add_endpoint
from trackflow.server.responses import JSONResponse
from trackflow.server.services import Services
from trackflow.store.sql.logged_model_search import status_value

router = APIRouter()
ajax_router = APIRouter()  # UI-only endpoints MLflow serves under /ajax-api alone

_STATUS_JSON = {
    LoggedModelStatus.UNSPECIFIED: "LOGGED_MODEL_STATUS_UNSPECIFIED",
    LoggedModelStatus.PENDING: "LOGGED_MODEL_PENDING",
    LoggedModelStatus.READY: "LOGGED_MODEL_READY",
    LoggedModelStatus.FAILED: "LOGGED_MODEL_UPLOAD_FAILED",
}


def logged_model_json(m: LoggedModel) -> dict[str, Any]:
    """MLflow's LoggedModel message as JSON (empty lists left out, as protobuf's JSON does)."""
    info: dict[str, Any] = {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "creation_timestamp_ms": m.creation_timestamp,
        "last_updated_timestamp_ms": m.last_updated_timestamp,
        "artifact_uri": m.artifact_location,
        "status": _STATUS_JSON[m.status],
        # Models created over REST always carry these two, empty when not given.
        "model_type": m.model_type or "",
        "source_run_id": m.source_run_id or "",
    }
    if m.status_message:
        info["status_message"] = m.status_message
    if m.tags:
        info["tags"] = [{"key": k, "value": v} for k, v in m.tags.items()]
    data: dict[str, Any] = {}
    if m.params:
        data["params"] = [{"key": k, "value": v} for k, v in m.params.items()]
    if m.metrics:
        data["metrics"] = [model_metric_json(x) for x in m.metrics]
    return {"info": info, "data": data}


def model_metric_json(metric: Any) -> dict[str, Any]:
    out = metric_json(metric)
    for name in ("dataset_name", "dataset_digest", "model_id", "run_id"):
        if getattr(metric, name):
            out[name] = getattr(metric, name)
    return out


def _required(p: dict[str, Any], name: str) -> Any:
    value = p.get(name)
    if value is None or value == "" or value == []:
        raise InvalidInput(
            f"Missing value for required parameter '{name}'. See the API docs for more information about "
            "request parameters."
        )
    return value


def _model_id(p: dict[str, Any]) -> str:
    return as_str(_required(p, "model_id"), "model_id")


def _status(value: Any) -> LoggedModelStatus:
    name = status_value(str(value))
    if isinstance(value, bool) or name not in LoggedModelStatus.__members__:
        raise InvalidInput(f"Invalid value {value!r} for parameter 'status': use LOGGED_MODEL_READY, ...")
    return LoggedModelStatus(name)


def _str_pairs(value: Any, name: str) -> dict[str, str]:
    return dict(key_values(value, name))


# Handlers (services, payload) -> response ------------------------------------------------
def create_logged_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    model = s.tracking.create_logged_model(
        as_str(_required(p, "experiment_id"), "experiment_id"),
        name=as_str(p["name"], "name") if p.get("name") else None,
        source_run_id=as_str(p["source_run_id"], "source_run_id") if p.get("source_run_id") else None,
        tags=_str_pairs(p.get("tags"), "tags"),
        params=_str_pairs(p.get("params"), "params"),
        model_type=as_str(p.get("model_type") or "", "model_type"),
    )
    return {"model": logged_model_json(model)}


def get_logged_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    allow_deleted = str(p.get("allow_deleted", "false")).lower() == "true"
    return {"model": logged_model_json(s.tracking.get_logged_model(_model_id(p), allow_deleted))}


def finalize_logged_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    # MLflow reads the model id from the body (the client sends it in both places).
    model_id = as_str(_required(p["body"], "model_id"), "model_id")
    status = _status(_required(p["body"], "status"))
    return {"model": logged_model_json(s.tracking.finalize_logged_model(model_id, status))}


def delete_logged_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_logged_model(_model_id(p))
    return {}


def set_logged_model_tags(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.set_logged_model_tags(_model_id(p), _str_pairs(p.get("tags"), "tags"))
    return {}


def delete_logged_model_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_logged_model_tag(_model_id(p), as_str(_required(p, "tag_key"), "tag_key"))
    return {}


def log_logged_model_params(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    model_id = as_str(_required(p["body"], "model_id"), "model_id")
    s.tracking.log_logged_model_params(model_id, _str_pairs(p.get("params"), "params"))
    return {}


def _datasets(value: Any) -> list[DatasetFilter]:
    out = []
    for item in as_list(value, "datasets"):
        if not isinstance(item, dict):
            raise InvalidInput(f"each entry of 'datasets' must be an object, got {item!r}")
        out.append(
            DatasetFilter(
                as_str(item.get("dataset_name") or "", "dataset_name"),
                as_str(item["dataset_digest"], "dataset_digest") if item.get("dataset_digest") else None,
            )
        )
    return out


def _order_by(value: Any) -> list[LoggedModelOrder]:
    out = []
    for item in as_list(value, "order_by"):
        if not isinstance(item, dict):
            raise InvalidInput(f"each entry of 'order_by' must be an object with field_name, got {item!r}")
        ascending = item.get("ascending", True)
        if not isinstance(ascending, bool):
            raise InvalidInput(f"'ascending' must be a boolean, got {ascending!r}")
        out.append(
            LoggedModelOrder(
                as_str(_required(item, "field_name"), "field_name"),
                ascending,
                as_str(item["dataset_name"], "dataset_name") if item.get("dataset_name") else None,
                as_str(item["dataset_digest"], "dataset_digest") if item.get("dataset_digest") else None,
            )
        )
    return out


def search_logged_models(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = _required(p, "experiment_ids")
    if isinstance(experiment_ids, str):
        experiment_ids = [experiment_ids]
    page = s.tracking.search_logged_models(
        [as_str(e, "experiment_ids") for e in as_list(experiment_ids, "experiment_ids")],
        filter_string=as_str(p["filter"], "filter") if p.get("filter") else None,
        datasets=_datasets(p.get("datasets")),
        max_results=as_int(p.get("max_results"), "max_results") or None,
        order_by=_order_by(p.get("order_by")),
        page_token=as_str(p["page_token"], "page_token") if p.get("page_token") else None,
    )
    out: dict[str, Any] = {}
    if page.items:  # protobuf's JSON leaves an empty list out
        out["models"] = [logged_model_json(m) for m in page]
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def log_outputs(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    run_id = as_str(_required(p, "run_id"), "run_id")
    outputs = []
    for item in as_list(_required(p, "models"), "models"):
        if not isinstance(item, dict):
            raise InvalidInput(f"each entry of 'models' must be an object with model_id and step, got {item!r}")
        outputs.append(ModelOutput(_model_id(item), as_int(item.get("step"), "step", 0) or 0))
    s.tracking.log_outputs(run_id, outputs)
    return {}


def list_logged_model_artifacts(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    path = p.get("artifact_directory_path")
    relative = safe_relative_path(as_str(path, "artifact_directory_path")) if path else None
    model = s.tracking.get_logged_model(_model_id(p))
    files = s.run_artifacts(model.artifact_location).list_artifacts(relative or None)
    out: dict[str, Any] = {"root_uri": model.artifact_location}
    if files:
        out["files"] = [
            {"path": f.path, "is_dir": f.is_dir, **({} if f.file_size is None else {"file_size": f.file_size})}
            for f in files
        ]
    return out


# Routing ---------------------------------------------------------------------------------
Handler = Callable[[Services, dict[str, Any]], dict[str, Any]]


def _add_with_path(path: str, methods: Sequence[str], handler: Handler) -> None:
    """Like routes.add_endpoint, with the path parameters merged into the payload (they win)
    and the JSON body alone kept under ``"body"`` for handlers that read only it, as MLflow does."""

    async def endpoint(request: Request) -> JSONResponse:
        payload = await read_payload(request)
        body = {k: v for k, v in payload.items() if k not in request.query_params}
        payload = {**payload, **request.path_params, "body": body}
        return JSONResponse(await run_in_threadpool(handler, request.app.state.services, payload))

    endpoint.__name__ = handler.__name__
    router.add_api_route(path, endpoint, methods=list(methods), include_in_schema=False)


@ajax_router.get("/logged-models/{model_id}/artifacts/files", include_in_schema=False)
async def download_logged_model_artifact(request: Request, model_id: str) -> StreamingResponse:
    """One file of a logged model (the UI's artifact viewer)."""
    raw = request.query_params.get("artifact_file_path")
    if not raw:  # MLflow answers BAD_REQUEST here (server/errors.py maps a 400 HTTPException to it)
        raise HTTPException(400, 'Request must include the "artifact_file_path" query parameter.')
    relative = safe_relative_path(raw)
    services: Services = request.app.state.services

    def open_file() -> Any:
        model = services.tracking.get_logged_model(model_id)
        return services.run_artifacts(model.artifact_location).open_read(relative)

    chunks = await run_in_threadpool(open_file)
    return StreamingResponse(chunks, media_type="application/octet-stream")


add_endpoint(router, "/logged-models", ["POST"], create_logged_model)
add_endpoint(router, "/logged-models/search", ["POST"], search_logged_models)
add_endpoint(router, "/runs/outputs", ["POST"], log_outputs)
_add_with_path("/logged-models/{model_id}", ["GET"], get_logged_model)
_add_with_path("/logged-models/{model_id}", ["PATCH"], finalize_logged_model)
_add_with_path("/logged-models/{model_id}", ["DELETE"], delete_logged_model)
_add_with_path("/logged-models/{model_id}/tags", ["PATCH"], set_logged_model_tags)
_add_with_path("/logged-models/{model_id}/tags/{tag_key:path}", ["DELETE"], delete_logged_model_tag)
_add_with_path("/logged-models/{model_id}/params", ["POST"], log_logged_model_params)
_add_with_path("/logged-models/{model_id}/artifacts/directories", ["GET"], list_logged_model_artifacts)
