"""MLflow's tracking endpoints under /api/2.0/mlflow (and /ajax-api/2.0/mlflow)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from trackflow.entities import DatasetInput, Metric, Param, RunStatus, RunTag, ViewType
from trackflow.errors import InvalidInput, NotFound
from trackflow.server.mlflow_compat.codec import (
    as_float,
    as_int,
    as_list,
    as_str,
    experiment_json,
    key_values,
    metric_json,
    required,
    run_info_json,
    run_json,
)
from trackflow.server.mlflow_compat.routes import add_endpoint
from trackflow.server.services import Services

router = APIRouter()

_VIEW_TYPES = {"1": "ACTIVE_ONLY", "2": "DELETED_ONLY", "3": "ALL"}


def _view_type(value: Any) -> ViewType:
    text = _VIEW_TYPES.get(str(value), str(value or "ACTIVE_ONLY")).upper()
    try:
        return ViewType(text)
    except ValueError:
        raise InvalidInput(f"invalid view_type {value!r}: use ACTIVE_ONLY, DELETED_ONLY or ALL") from None


def _status(value: Any) -> RunStatus:
    try:
        return RunStatus(str(value).upper())
    except ValueError:
        raise InvalidInput(f"invalid run status {value!r}") from None


def _order_by(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [as_str(v, "order_by") for v in as_list(value, "order_by")]


def _max_results(p: dict[str, Any], default: int) -> int:
    """``max_results``, or ``default`` when it is absent (0 is refused by the store, as by MLflow)."""
    value = as_int(p.get("max_results"), "max_results", default)
    return default if value is None else value


def _optional_str(value: Any, name: str) -> str | None:
    return None if value is None else as_str(value, name)


def _run_id(p: dict[str, Any]) -> str:
    value = p.get("run_id") or p.get("run_uuid")  # older clients send run_uuid
    if not value:
        raise InvalidInput("missing value for required parameter 'run_id'")
    return as_str(value, "run_id")


# Experiments -----------------------------------------------------------------------------
def create_experiment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    name = as_str(required(p, "name"), "name")
    tags = dict(key_values(p.get("tags"), "tags"))
    location = as_str(p["artifact_location"], "artifact_location") if p.get("artifact_location") else None
    return {"experiment_id": s.tracking.create_experiment(name, location, tags)}


def get_experiment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": experiment_json(s.tracking.get_experiment(as_str(required(p, "experiment_id"), "id")))}


def get_experiment_by_name(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    name = as_str(required(p, "experiment_name"), "experiment_name")
    experiment = s.tracking.get_experiment_by_name(name)
    if experiment is None:
        raise NotFound(f"Could not find experiment with name '{name}'")
    return {"experiment": experiment_json(experiment)}


def search_experiments(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    page = s.tracking.search_experiments(
        _view_type(p.get("view_type")),
        _max_results(p, 1000),
        p.get("filter") or None,
        _order_by(p.get("order_by")),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"experiments": [experiment_json(e) for e in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def update_experiment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    experiment_id = as_str(required(p, "experiment_id"), "experiment_id")
    s.tracking.rename_experiment(experiment_id, as_str(required(p, "new_name"), "new_name"))
    return {}


def delete_experiment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_experiment(as_str(required(p, "experiment_id"), "experiment_id"))
    return {}


def restore_experiment(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.restore_experiment(as_str(required(p, "experiment_id"), "experiment_id"))
    return {}


def set_experiment_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.set_experiment_tag(
        as_str(required(p, "experiment_id"), "experiment_id"),
        as_str(required(p, "key"), "key"),
        as_str(p.get("value", ""), "value"),
    )
    return {}


def delete_experiment_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_experiment_tag(
        as_str(required(p, "experiment_id"), "experiment_id"), as_str(required(p, "key"), "key")
    )
    return {}


# Runs ------------------------------------------------------------------------------------
def create_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    tags = [RunTag(k, v) for k, v in key_values(p.get("tags"), "tags")]
    run = s.tracking.create_run(
        as_str(p.get("experiment_id", "0"), "experiment_id"),
        as_str(p.get("user_id") or "", "user_id"),
        as_int(p.get("start_time"), "start_time"),
        tags,
        p.get("run_name") or None,
    )
    return {"run": run_json(run)}


def get_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"run": run_json(s.tracking.get_run(_run_id(p)))}


def update_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    status = _status(p["status"]) if p.get("status") else None
    info = s.tracking.update_run_info(
        _run_id(p), status, as_int(p.get("end_time"), "end_time"), p.get("run_name") or None
    )
    return {"run_info": run_info_json(info)}


def delete_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_run(_run_id(p))
    return {}


def restore_run(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.restore_run(_run_id(p))
    return {}


def _metric(item: Any) -> Metric:
    if not isinstance(item, dict):
        raise InvalidInput(f"a metric must be an object, got {item!r}")
    key = as_str(required(item, "key"), "key")
    if "value" not in item:
        raise InvalidInput(f"missing value for required parameter 'value' of metric {key!r}")
    if item.get("timestamp") is None:  # MLflow's clients always send one; its server requires it
        raise InvalidInput(f"missing value for required parameter 'timestamp' of metric {key!r}")
    timestamp = as_int(item["timestamp"], "timestamp")
    model = {f: as_str(item[f], f) for f in ("model_id", "dataset_name", "dataset_digest") if item.get(f)}
    return Metric(
        key, as_float(item["value"], "value"), timestamp or 0, as_int(item.get("step"), "step", 0) or 0, **model
    )


def log_metric(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.log_batch(_run_id(p), metrics=[_metric(p)])
    return {}


def log_param(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    key = as_str(required(p, "key"), "key")
    s.tracking.log_batch(_run_id(p), params=[Param(key, as_str(p.get("value", ""), "value"))])
    return {}


def set_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    key = as_str(required(p, "key"), "key")
    s.tracking.log_batch(_run_id(p), tags=[RunTag(key, as_str(p.get("value", ""), "value"))])
    return {}


def delete_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    s.tracking.delete_tag(_run_id(p), as_str(required(p, "key"), "key"))
    return {}


def log_batch(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    metrics = [_metric(m) for m in as_list(p.get("metrics"), "metrics")]
    params = [Param(k, v) for k, v in key_values(p.get("params"), "params")]
    tags = [RunTag(k, v) for k, v in key_values(p.get("tags"), "tags")]
    s.tracking.log_batch(_run_id(p), metrics, params, tags)
    return {}


def log_inputs(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    datasets = []
    for item in as_list(p.get("datasets"), "datasets"):
        dataset = item.get("dataset") if isinstance(item, dict) else None
        if not isinstance(dataset, dict):
            raise InvalidInput(f"each dataset input needs a 'dataset' object, got {item!r}")
        datasets.append(
            DatasetInput(
                name=as_str(required(dataset, "name"), "dataset.name"),
                digest=as_str(required(dataset, "digest"), "dataset.digest"),
                source_type=as_str(dataset.get("source_type", ""), "dataset.source_type"),
                source=as_str(dataset.get("source", ""), "dataset.source"),
                schema=_optional_str(dataset.get("schema"), "dataset.schema"),
                profile=_optional_str(dataset.get("profile"), "dataset.profile"),
                tags=dict(key_values(item.get("tags"), "tags")),
            )
        )
    models = []
    for item in as_list(p.get("models"), "models"):
        if not isinstance(item, dict) or not item.get("model_id"):
            raise InvalidInput(f"each model input needs a 'model_id', got {item!r}")
        models.append(as_str(item["model_id"], "models.model_id"))
    s.tracking.log_inputs(_run_id(p), datasets, models)
    return {}


def search_runs(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    experiment_ids = p.get("experiment_ids") or []  # a list, from the body or a query string
    page = s.tracking.search_runs(
        [as_str(e, "experiment_ids") for e in as_list(experiment_ids, "experiment_ids")],
        p.get("filter") or "",
        _view_type(p.get("run_view_type")),
        _max_results(p, 1000),
        _order_by(p.get("order_by")),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"runs": [run_json(r) for r in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_metric_history(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    page = s.tracking.get_metric_history(
        _run_id(p),
        as_str(required(p, "metric_key"), "metric_key"),
        as_int(p.get("max_results"), "max_results"),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"metrics": [metric_json(m) for m in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def list_artifacts(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    run = s.tracking.get_run(_run_id(p))
    path = as_str(p.get("path") or "", "path")
    files = s.run_artifacts(run.info.artifact_uri).list_artifacts(path or None)
    return {
        "root_uri": run.info.artifact_uri,
        "files": [
            {"path": f.path, "is_dir": f.is_dir, **({"file_size": f.file_size} if f.file_size else {})}
            for f in files
        ],
    }


_ENDPOINTS = [
    ("experiments/create", ["POST"], create_experiment),
    ("experiments/get", ["GET"], get_experiment),
    ("experiments/get-by-name", ["GET"], get_experiment_by_name),
    ("experiments/search", ["GET", "POST"], search_experiments),
    ("experiments/update", ["POST"], update_experiment),
    ("experiments/delete", ["POST"], delete_experiment),
    ("experiments/restore", ["POST"], restore_experiment),
    ("experiments/set-experiment-tag", ["POST"], set_experiment_tag),
    ("experiments/delete-experiment-tag", ["POST"], delete_experiment_tag),
    ("runs/create", ["POST"], create_run),
    ("runs/get", ["GET"], get_run),
    ("runs/update", ["POST"], update_run),
    ("runs/delete", ["POST"], delete_run),
    ("runs/restore", ["POST"], restore_run),
    ("runs/log-metric", ["POST"], log_metric),
    ("runs/log-parameter", ["POST"], log_param),
    ("runs/set-tag", ["POST"], set_tag),
    ("runs/delete-tag", ["POST"], delete_tag),
    ("runs/log-batch", ["POST"], log_batch),
    ("runs/log-inputs", ["POST"], log_inputs),
    ("runs/search", ["POST", "GET"], search_runs),
    ("metrics/get-history", ["GET"], get_metric_history),
    ("artifacts/list", ["GET"], list_artifacts),
]

for _path, _methods, _handler in _ENDPOINTS:
    add_endpoint(router, f"/{_path}", _methods, _handler)
