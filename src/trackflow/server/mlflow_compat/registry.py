"""MLflow's model registry endpoints (``registered-models/...``, ``model-versions/...``, aliases).

Mounted under /api/2.0/mlflow like the tracking endpoints, so ``MlflowClient`` registry calls and
``mlflow.register_model`` work against a trackflow server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from trackflow.entities.registry import ModelVersion, RegisteredModel
from trackflow.errors import NotFound
from trackflow.server.mlflow_compat.codec import as_int, as_list, as_str, key_values, required
from trackflow.server.mlflow_compat.routes import add_endpoint
from trackflow.server.services import Services
from trackflow.store.sql.registry_store import SqlRegistryStore

router = APIRouter()


def _store(s: Services) -> SqlRegistryStore:
    return SqlRegistryStore(s.db)


def version_json(v: ModelVersion) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": v.name,
        "version": v.version,
        "creation_timestamp": v.creation_timestamp,
        "last_updated_timestamp": v.last_updated_timestamp,
        "current_stage": v.current_stage,
        "description": v.description,
        "source": v.source,
        "run_id": v.run_id or "",
        "status": v.status.value,
        "tags": [{"key": k, "value": val} for k, val in v.tags.items()],
        "aliases": list(v.aliases),
    }
    if v.user_id:
        out["user_id"] = v.user_id
    if v.run_link:
        out["run_link"] = v.run_link
    if v.status_message:
        out["status_message"] = v.status_message
    return out


def model_json(m: RegisteredModel) -> dict[str, Any]:
    return {
        "name": m.name,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "description": m.description,
        "latest_versions": [version_json(v) for v in m.latest_versions],
        "tags": [{"key": k, "value": v} for k, v in m.tags.items()],
        "aliases": [{"alias": a, "version": v} for a, v in m.aliases.items()],
    }


def _name(p: dict[str, Any]) -> str:
    return as_str(required(p, "name"), "name")


def _version(p: dict[str, Any]) -> str:
    return as_str(required(p, "version"), "version")


def _order_by(p: dict[str, Any]) -> list[str]:
    value = p.get("order_by")
    if isinstance(value, str):
        return [value]
    return [as_str(v, "order_by") for v in as_list(value, "order_by")]


# Registered models -----------------------------------------------------------------------
def create_registered_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    tags = dict(key_values(p.get("tags"), "tags"))
    model = _store(s).create_registered_model(_name(p), tags, p.get("description") or None)
    return {"registered_model": model_json(model)}


def get_registered_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"registered_model": model_json(_store(s).get_registered_model(_name(p)))}


def rename_registered_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    new_name = as_str(required(p, "new_name"), "new_name")
    return {"registered_model": model_json(_store(s).rename_registered_model(_name(p), new_name))}


def update_registered_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    model = _store(s).update_registered_model(_name(p), as_str(p.get("description") or "", "description"))
    return {"registered_model": model_json(model)}


def delete_registered_model(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).delete_registered_model(_name(p))
    return {}


def search_registered_models(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    page = _store(s).search_registered_models(
        p.get("filter") or None, as_int(p.get("max_results"), "max_results", 100) or 100, _order_by(p),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"registered_models": [model_json(m) for m in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def get_latest_versions(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    stages = p.get("stages")
    stage_list = [stages] if isinstance(stages, str) else as_list(stages, "stages")
    versions = _store(s).get_latest_versions(_name(p), [as_str(x, "stages") for x in stage_list])
    return {"model_versions": [version_json(v) for v in versions]}


def set_registered_model_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).set_registered_model_tag(_name(p), as_str(required(p, "key"), "key"), as_str(p.get("value", ""), "value"))
    return {}


def delete_registered_model_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).delete_registered_model_tag(_name(p), as_str(required(p, "key"), "key"))
    return {}


# Aliases ---------------------------------------------------------------------------------
def set_alias(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).set_registered_model_alias(_name(p), as_str(required(p, "alias"), "alias"), _version(p))
    return {}


def delete_alias(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).delete_registered_model_alias(_name(p), as_str(required(p, "alias"), "alias"))
    return {}


def get_by_alias(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    version = _store(s).get_model_version_by_alias(_name(p), as_str(required(p, "alias"), "alias"))
    return {"model_version": version_json(version)}


# Versions --------------------------------------------------------------------------------
def create_model_version(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    run_id = p.get("run_id") or None
    if run_id:
        s.tracking.get_run(as_str(run_id, "run_id"))  # NotFound names an unknown run
    version = _store(s).create_model_version(
        _name(p), as_str(required(p, "source"), "source"), run_id, dict(key_values(p.get("tags"), "tags")),
        p.get("run_link") or None, p.get("description") or None, as_str(p.get("user_id") or "", "user_id"),
    )
    return {"model_version": version_json(version)}


def get_model_version(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    return {"model_version": version_json(_store(s).get_model_version(_name(p), _version(p)))}


def update_model_version(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    version = _store(s).update_model_version(_name(p), _version(p), as_str(p.get("description") or "", "description"))
    return {"model_version": version_json(version)}


def delete_model_version(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).delete_model_version(_name(p), _version(p))
    return {}


def search_model_versions(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    page = _store(s).search_model_versions(
        p.get("filter") or None, as_int(p.get("max_results"), "max_results", 10_000) or 10_000, _order_by(p),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"model_versions": [version_json(v) for v in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def transition_stage(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    archive = str(p.get("archive_existing_versions", "false")).lower() == "true"
    version = _store(s).transition_model_version_stage(
        _name(p), _version(p), as_str(required(p, "stage"), "stage"), archive
    )
    return {"model_version": version_json(version)}


def set_model_version_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).set_model_version_tag(
        _name(p), _version(p), as_str(required(p, "key"), "key"), as_str(p.get("value", ""), "value")
    )
    return {}


def delete_model_version_tag(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    _store(s).delete_model_version_tag(_name(p), _version(p), as_str(required(p, "key"), "key"))
    return {}


def get_download_uri(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    """The artifact location of the version: ``runs:/`` sources become the run's artifact URI."""
    source = _store(s).get_model_version(_name(p), _version(p)).source
    if source.startswith("runs:/"):
        run_id, _, path = source[len("runs:/") :].lstrip("/").partition("/")
        try:
            root = s.tracking.get_run(run_id).info.artifact_uri
        except NotFound:
            raise NotFound(f"the run {run_id!r} of this model version's source {source!r} no longer exists") from None
        source = f"{root.rstrip('/')}/{path}" if path else root
    return {"artifact_uri": source}


_ENDPOINTS = [
    ("registered-models/create", ["POST"], create_registered_model),
    ("registered-models/get", ["GET"], get_registered_model),
    ("registered-models/rename", ["POST"], rename_registered_model),
    ("registered-models/update", ["PATCH"], update_registered_model),
    ("registered-models/delete", ["DELETE"], delete_registered_model),
    ("registered-models/search", ["GET"], search_registered_models),
    ("registered-models/get-latest-versions", ["GET", "POST"], get_latest_versions),
    ("registered-models/set-tag", ["POST"], set_registered_model_tag),
    ("registered-models/delete-tag", ["DELETE"], delete_registered_model_tag),
    ("registered-models/alias", ["POST"], set_alias),
    ("registered-models/alias", ["DELETE"], delete_alias),
    ("registered-models/alias", ["GET"], get_by_alias),
    ("model-versions/create", ["POST"], create_model_version),
    ("model-versions/get", ["GET"], get_model_version),
    ("model-versions/update", ["PATCH"], update_model_version),
    ("model-versions/delete", ["DELETE"], delete_model_version),
    ("model-versions/search", ["GET"], search_model_versions),
    ("model-versions/transition-stage", ["POST"], transition_stage),
    ("model-versions/set-tag", ["POST"], set_model_version_tag),
    ("model-versions/delete-tag", ["DELETE"], delete_model_version_tag),
    ("model-versions/get-download-uri", ["GET"], get_download_uri),
]

for _path, _methods, _handler in _ENDPOINTS:
    add_endpoint(router, f"/{_path}", _methods, _handler)
