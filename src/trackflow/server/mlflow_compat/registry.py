"""MLflow's model registry endpoints (``registered-models/...``, ``model-versions/...``, aliases).

Mounted under /api/2.0/mlflow like the tracking endpoints, so ``MlflowClient`` registry calls and
``mlflow.register_model`` work against a trackflow server.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter

from trackflow.entities.registry import ModelVersion, RegisteredModel
from trackflow.errors import InvalidInput, NotFound
from trackflow.registry.sources import check_version_source
from trackflow.server.mlflow_compat.codec import as_bool, as_int, as_list, as_str, key_values, required
from trackflow.server.mlflow_compat.routes import add_endpoint
from trackflow.server.services import Services
from trackflow.store.sql.registry_store import SqlRegistryStore
from trackflow.tracking.logged_models import logged_model_id

router = APIRouter()

MODEL_VERSIONS_TAG = "mlflow.modelVersions"


def _store(s: Services) -> SqlRegistryStore:
    return SqlRegistryStore(s.db)


def version_json(v: ModelVersion, with_aliases: bool = True) -> dict[str, Any]:
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
    }
    if with_aliases:  # MLflow lists a version's aliases, except among a model's latest_versions
        out["aliases"] = list(v.aliases)
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
        "latest_versions": [version_json(v, with_aliases=False) for v in m.latest_versions],
        "tags": [{"key": k, "value": v} for k, v in m.tags.items()],
        "aliases": [{"alias": a, "version": v} for a, v in m.aliases.items()],
    }


def _name(p: dict[str, Any]) -> str:
    return as_str(required(p, "name"), "name")


def _version(p: dict[str, Any]) -> str:
    return as_str(required(p, "version"), "version")


def _max_results(p: dict[str, Any], default: int) -> int:
    """``max_results``, or ``default`` when it is absent (0 is refused by the store, as by MLflow)."""
    value = as_int(p.get("max_results"), "max_results", default)
    return default if value is None else value


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
        p.get("filter") or None, _max_results(p, 100), _order_by(p),
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
    name, alias = _name(p), as_str(required(p, "alias"), "alias")
    store = _store(s)
    store.get_registered_model(name)  # an unknown model: NotFound (404)
    try:
        version = store.get_model_version_by_alias(name, alias)
    except NotFound as exc:  # MLflow answers an alias that is not set as a bad parameter (400)
        raise InvalidInput(exc.message) from None
    return {"model_version": version_json(version)}


# Versions --------------------------------------------------------------------------------
# The sources MLflow's client and store put on a prompt's version (its template is in a tag).
PROMPT_SOURCES = frozenset({"dummy-source", "prompt-template"})


def _is_prompt_version(p: dict[str, Any]) -> bool:
    """As MLflow's server: the version's ``mlflow.prompt.is_prompt`` tag (last value wins) is true."""
    tags = dict(key_values(p.get("tags"), "tags"))
    return str(tags.get("mlflow.prompt.is_prompt", "false")).lower() == "true"


def create_model_version(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    source = as_str(required(p, "source"), "source")
    run_id = as_str(p["run_id"], "run_id") if p.get("run_id") else None
    model_id = None
    if _is_prompt_version(p):  # a prompt's version: a placeholder source, no run or model behind it
        if source not in PROMPT_SOURCES:
            raise InvalidInput(f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder.")
    else:
        model_id = _source_model_id(s, p)
        if not model_id and logged_model_id(source) is None:
            check_version_source(source, run_id, lambda r: _run_artifact_uri(s, r))
    if run_id:
        s.tracking.get_run(run_id)  # NotFound names an unknown run
    if model_id and not run_id:  # MLflow 3: the version of a logged model has the model's run
        run_id = s.tracking.get_logged_model(model_id).source_run_id
    version = _store(s).create_model_version(
        _name(p), source, run_id, dict(key_values(p.get("tags"), "tags")),
        p.get("run_link") or None, p.get("description") or None, as_str(p.get("user_id") or "", "user_id"),
    )
    if model_id:
        _record_version_on_model(s, model_id, version.name, int(version.version))
    return {"model_version": version_json(version)}


def _run_artifact_uri(s: Services, run_id: str) -> str | None:
    try:
        return s.tracking.get_run(run_id).info.artifact_uri
    except (NotFound, InvalidInput):
        return None


def _source_model_id(s: Services, p: dict[str, Any]) -> str | None:
    """The logged model a new version comes from (``model_id``, with a ``models:/<model_id>``
    source naming the same model, as MLflow's server requires), or None."""
    source = as_str(p.get("source") or "", "source")
    model_id = as_str(p["model_id"], "model_id") if p.get("model_id") else None
    named = logged_model_id(source)
    if (named is not None and named != model_id) or (model_id and source.startswith("runs:/")):
        raise InvalidInput(
            f"Invalid model version source: '{source}'. The model_id request parameter must identify "
            "the resource that contains the source."
        )
    return model_id


def _record_version_on_model(s: Services, model_id: str, name: str, version: int) -> None:
    """Append the version to the logged model's ``mlflow.modelVersions`` tag (as MLflow's server does)."""
    model = s.tracking.get_logged_model(model_id, allow_deleted=True)
    try:
        entries = json.loads(model.tags.get(MODEL_VERSIONS_TAG) or "[]")
    except ValueError:  # a user overwrote the tag with something else
        entries = []
    if not isinstance(entries, list):
        entries = []
    if {"name": name, "version": version} not in entries:
        entries.append({"name": name, "version": version})
    s.tracking.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(entries)})


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
        p.get("filter") or None, _max_results(p, 10_000), _order_by(p),
        p.get("page_token") or None,
    )
    out: dict[str, Any] = {"model_versions": [version_json(v) for v in page]}
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return out


def transition_stage(s: Services, p: dict[str, Any]) -> dict[str, Any]:
    archive = as_bool(p.get("archive_existing_versions"), "archive_existing_versions")
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
    if model_id := logged_model_id(source):
        return {"artifact_uri": s.tracking.get_logged_model(model_id, allow_deleted=True).artifact_location}
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
