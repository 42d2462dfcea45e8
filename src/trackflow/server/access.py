"""Who may call which route, when auth is on: the one table (RULES) that maps every route of the
app to the object it touches and the level it needs (auth/permissions.py), and the middleware
that enforces it. create_app refuses to start if a route has no rule, so a new route is decided
here or the server (and tests/server/test_auth.py) fails.

A rule's locator finds the object(s) a request touches from its path, query and JSON body: an
experiment (directly, by name, through a run or a logged model, or through a proxied artifact
path), a registered model, a DAG, or the resource named by a permission request. An object a
derived lookup cannot find (a made-up run id) lets the request through to answer its own 404.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import anyio
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackflow.artifacts.base import safe_relative_path
from trackflow.auth.permissions import DAG, EXPERIMENT, REGISTERED_MODEL, Level, Permissions, parse_resource_type
from trackflow.entities.auth import User
from trackflow.errors import InvalidInput, NotFound, PermissionDenied, TrackflowError
from trackflow.server.auth import is_open
from trackflow.server.services import Services

log = logging.getLogger(__name__)
MLFLOW_FORBIDDEN = b"Permission denied"  # MLflow's basic-auth app answers 403 with this text
MLFLOW_PATHS = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow", "/ajax-api/3.0/mlflow",
                "/api/2.0/mlflow-artifacts")


@dataclass
class Request:
    """What a locator may read of a request: its parameters as the route sees them — the query,
    overridden by the JSON body (as MLflow's routes merge them), overridden by the path's."""

    method: str
    params: dict[str, Any]
    user: User
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def get(self, *names: str) -> Any:
        for name in names:  # in the order the route tries them (run_id, then run_uuid)
            if self.params.get(name) not in (None, ""):
                return self.params[name]
        return None

    def need(self, *names: str) -> str:
        value = self.get(*names)
        if value is None:
            raise InvalidInput(f"Missing value for required parameter '{names[0]}'. "
                               "See the API docs for more information about request parameters.")
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise InvalidInput(f"parameter {names[0]!r} must be a string, got {value!r}")
        return str(value)


Target = tuple[str, str]  # (resource type, resource id)
Locator = Callable[[Request, Services], list[Target]]
# runs on a successful answer's JSON; what it returns (not None) is answered instead
After = Callable[[Request, Any, Services, Permissions], Any]


@dataclass(frozen=True)
class Rule:
    """``level`` on every object ``locate`` finds; or only being signed in (no locator); or an
    admin (``admin``); or being the user the request names, or an admin (``self_param``).
    ``after`` runs on a successful answer's JSON (the creator becomes its owner, grants follow
    a renamed model) and may replace it (a list keeps what the user may read)."""

    level: Level | None = None
    locate: Locator | None = None
    admin: bool = False
    self_param: str | None = None
    after: After | None = None
    body: bool = field(default=False)  # the locator reads the JSON body


SIGNED_IN = Rule()
ADMIN = Rule(admin=True)
SELF_OR_ADMIN = Rule(self_param="username", body=True)


# Locators ----------------------------------------------------------------------------------
def experiment(*names: str) -> Locator:
    return lambda r, s: [(EXPERIMENT, r.need(*names))]


def experiments_listed(r: Request, s: Services) -> list[Target]:
    ids = r.get("experiment_ids")
    if ids is None:
        return []
    if isinstance(ids, (str, int)):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) for i in ids):
        raise InvalidInput(f"'experiment_ids' must be a list of ids, got {ids!r}")
    return [(EXPERIMENT, str(i)) for i in ids]


def experiment_by_name(*names: str) -> Locator:
    def locate(r: Request, s: Services) -> list[Target]:
        found = s.tracking.get_experiment_by_name(r.need(*names))
        return [] if found is None else [(EXPERIMENT, str(found.experiment_id))]
    return locate


def run_experiment(r: Request, s: Services) -> list[Target]:
    try:
        return [(EXPERIMENT, str(s.tracking.get_run(r.need("run_id", "run_uuid")).info.experiment_id))]
    except NotFound:
        return []


def logged_model_experiment(r: Request, s: Services) -> list[Target]:
    try:
        model = s.tracking.get_logged_model(r.need("model_id"), allow_deleted=True)
    except NotFound:
        return []
    return [(EXPERIMENT, str(model.experiment_id))]


def artifact_experiment(r: Request, s: Services) -> list[Target]:
    """A proxied artifact path starts with its experiment's id (mlflow-artifacts:/<id>/...),
    read as the route reads it (``..`` resolved; bad paths refused)."""
    path = safe_relative_path(str(r.get("path") or ""))
    return [(EXPERIMENT, path.split("/", 1)[0])] if path else []


def trace_experiments(r: Request, s: Services) -> list[Target]:
    """The experiments of the traces a request names (trace_id or request_id, or trace_ids)."""
    raw = r.get("trace_id", "request_id")
    ids = [raw] if raw is not None else r.get("trace_ids")
    if ids is None:
        return []
    if isinstance(ids, str):
        ids = [ids]
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InvalidInput(f"'trace_ids' must be a list of ids, got {ids!r}")
    out = []
    for trace_id in ids:
        try:
            out.append((EXPERIMENT, str(s.traces.get_trace_info(trace_id).experiment_id)))
        except NotFound:
            continue  # the route answers for a trace that is not there
    return out


def new_trace_experiment(r: Request, s: Services) -> list[Target]:
    """StartTraceV3's trace.trace_info.trace_location.mlflow_experiment.experiment_id."""
    trace = r.get("trace")
    info = trace.get("trace_info") if isinstance(trace, dict) else None
    location = info.get("trace_location") if isinstance(info, dict) else None
    experiment = location.get("mlflow_experiment") if isinstance(location, dict) else None
    found = experiment.get("experiment_id") if isinstance(experiment, dict) else None
    return [(EXPERIMENT, str(found))] if isinstance(found, (str, int)) and found != "" else []


def trace_locations(r: Request, s: Services) -> list[Target]:
    """SearchTracesV3's locations[].mlflow_experiment.experiment_id."""
    locations = r.get("locations")
    out = []
    for location in locations if isinstance(locations, list) else []:
        experiment = location.get("mlflow_experiment") if isinstance(location, dict) else None
        found = experiment.get("experiment_id") if isinstance(experiment, dict) else None
        if isinstance(found, (str, int)) and found != "":
            out.append((EXPERIMENT, str(found)))
    return out


def experiments_or_default(r: Request, s: Services) -> list[Target]:
    """/api/v1/traces' experiment_id (repeatable; the Default experiment when absent)."""
    ids = r.get("experiment_id")
    return [(EXPERIMENT, str(i)) for i in (ids if isinstance(ids, list) else ["0" if ids is None else ids])]


def header_experiment(r: Request, s: Services) -> list[Target]:
    """OTLP export names its experiment in the x-mlflow-experiment-id header."""
    found = r.headers.get("x-mlflow-experiment-id")
    return [(EXPERIMENT, found)] if found else []


def model(*names: str) -> Locator:
    return lambda r, s: [(REGISTERED_MODEL, r.need(*names))]


def dag(r: Request, s: Services) -> list[Target]:
    return [(DAG, r.need("dag_id"))]


def named_resource(r: Request, s: Services) -> list[Target]:
    """A permission request's own object: resource_type and resource_id (MLflow 3), or the
    experiment_id / name of MLflow 2's experiments/ and registered-models/permissions."""
    if r.get("resource_type") is not None:
        return [(parse_resource_type(r.need("resource_type")), r.need("resource_id"))]
    if r.get("experiment_id") is not None:
        return [(EXPERIMENT, r.need("experiment_id"))]
    return [(REGISTERED_MODEL, r.need("name"))]


# After a successful answer ------------------------------------------------------------------
def owns_new_experiment(r: Request, answer: Any, s: Services, p: Permissions) -> None:
    if isinstance(answer, dict) and answer.get("experiment_id") is not None:
        p.make_owner(r.user.username, EXPERIMENT, str(answer["experiment_id"]))


def owns_new_model(r: Request, answer: Any, s: Services, p: Permissions) -> None:
    if isinstance(answer, dict):
        made = answer.get("registered_model", answer)
        if isinstance(made, dict) and made.get("name"):
            p.make_owner(r.user.username, REGISTERED_MODEL, str(made["name"]))


def model_renamed(r: Request, answer: Any, s: Services, p: Permissions) -> None:
    """Grants follow a renamed model (MLflow's rename and /api/v1's PATCH with new_name)."""
    old, new = r.get("name"), r.get("new_name")
    if isinstance(old, str) and isinstance(new, str) and old != new:
        p.store.rename_resource(REGISTERED_MODEL, old, new)


def model_deleted(r: Request, answer: Any, s: Services, p: Permissions) -> None:
    p.store.forget_resource(REGISTERED_MODEL, r.need("name"))


def readable(list_key: str, resource_type: str, id_key: str) -> Rule:
    """A signed-in user's list, keeping only the objects they may READ (as MLflow filters a
    search's page: a page may come back shorter)."""
    def keep(r: Request, answer: Any, s: Services, p: Permissions) -> Any:
        items = answer.get(list_key) if isinstance(answer, dict) else None
        if not isinstance(items, list) or r.user.is_admin:
            return None
        ids = [str(item.get(id_key)) for item in items if isinstance(item, dict)]
        allowed = p.readable(r.user, resource_type, ids)
        return {**answer, list_key: [item for item in items if str(item.get(id_key)) in allowed]}

    keep.__name__ = f"readable_{list_key}"
    return Rule(after=keep)


def on(level: Level, locate: Locator, after: After | None = None) -> Rule:
    return Rule(level=level, locate=locate, after=after, body=True)


R, E, M = Level.READ, Level.EDIT, Level.MANAGE
EXP, RUN, LM = experiment("experiment_id"), run_experiment, logged_model_experiment
RM = model("name")

# MLflow's routes, served under /api/2.0/mlflow and /ajax-api/2.0/mlflow. Levels follow MLflow's
# basic-auth app: reads READ, changes EDIT, deletes and permissions MANAGE.
MLFLOW_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/experiments/create"): Rule(after=owns_new_experiment),
    ("GET", "/experiments/get"): on(R, EXP),
    ("GET", "/experiments/get-by-name"): on(R, experiment_by_name("experiment_name")),
    ("GET", "/experiments/search"): readable("experiments", EXPERIMENT, "experiment_id"),
    ("POST", "/experiments/search"): readable("experiments", EXPERIMENT, "experiment_id"),
    ("POST", "/experiments/update"): on(E, EXP),
    ("POST", "/experiments/delete"): on(M, EXP),
    ("POST", "/experiments/restore"): on(M, EXP),
    ("POST", "/experiments/set-experiment-tag"): on(E, EXP),
    ("POST", "/experiments/delete-experiment-tag"): on(E, EXP),
    ("POST", "/runs/create"): on(E, EXP),
    ("GET", "/runs/get"): on(R, RUN),
    ("POST", "/runs/update"): on(E, RUN),
    ("POST", "/runs/delete"): on(M, RUN),
    ("POST", "/runs/restore"): on(M, RUN),
    ("POST", "/runs/log-metric"): on(E, RUN),
    ("POST", "/runs/log-parameter"): on(E, RUN),
    ("POST", "/runs/set-tag"): on(E, RUN),
    ("POST", "/runs/delete-tag"): on(E, RUN),
    ("POST", "/runs/log-batch"): on(E, RUN),
    ("POST", "/runs/log-inputs"): on(E, RUN),
    ("POST", "/runs/outputs"): on(E, RUN),
    ("GET", "/runs/search"): on(R, experiments_listed),
    ("POST", "/runs/search"): on(R, experiments_listed),
    ("GET", "/metrics/get-history"): on(R, RUN),
    ("GET", "/artifacts/list"): on(R, RUN),
    ("POST", "/registered-models/create"): Rule(after=owns_new_model),
    ("GET", "/registered-models/get"): on(R, RM),
    ("POST", "/registered-models/rename"): on(E, RM, after=model_renamed),
    ("PATCH", "/registered-models/update"): on(E, RM),
    ("DELETE", "/registered-models/delete"): on(M, RM, after=model_deleted),
    ("GET", "/registered-models/search"): readable("registered_models", REGISTERED_MODEL, "name"),
    ("GET", "/registered-models/get-latest-versions"): on(R, RM),
    ("POST", "/registered-models/get-latest-versions"): on(R, RM),
    ("POST", "/registered-models/set-tag"): on(E, RM),
    ("DELETE", "/registered-models/delete-tag"): on(E, RM),
    ("POST", "/registered-models/alias"): on(E, RM),
    ("DELETE", "/registered-models/alias"): on(E, RM),
    ("GET", "/registered-models/alias"): on(R, RM),
    ("POST", "/model-versions/create"): on(E, RM),
    ("GET", "/model-versions/get"): on(R, RM),
    ("PATCH", "/model-versions/update"): on(E, RM),
    ("DELETE", "/model-versions/delete"): on(M, RM),
    ("GET", "/model-versions/search"): readable("model_versions", REGISTERED_MODEL, "name"),
    ("POST", "/model-versions/transition-stage"): on(E, RM),
    ("POST", "/model-versions/set-tag"): on(E, RM),
    ("DELETE", "/model-versions/delete-tag"): on(E, RM),
    ("GET", "/model-versions/get-download-uri"): on(R, RM),
    ("POST", "/logged-models"): on(E, EXP),
    ("POST", "/logged-models/search"): on(R, experiments_listed),
    ("GET", "/logged-models/{model_id}"): on(R, LM),
    ("PATCH", "/logged-models/{model_id}"): on(E, LM),
    ("DELETE", "/logged-models/{model_id}"): on(M, LM),
    ("PATCH", "/logged-models/{model_id}/tags"): on(E, LM),
    ("DELETE", "/logged-models/{model_id}/tags/{tag_key:path}"): on(E, LM),
    ("POST", "/logged-models/{model_id}/params"): on(E, LM),
    ("GET", "/logged-models/{model_id}/artifacts/directories"): on(R, LM),
    # MLflow's basic-auth app: users and (MLflow 2) per-object permissions
    ("POST", "/users/create"): ADMIN,
    ("GET", "/users/get"): SELF_OR_ADMIN,
    ("GET", "/users/current"): SIGNED_IN,
    ("GET", "/users/list"): ADMIN,
    ("PATCH", "/users/update-password"): SELF_OR_ADMIN,
    ("PATCH", "/users/update-admin"): ADMIN,
    ("DELETE", "/users/delete"): ADMIN,
    **{(method, f"/{kind}/permissions/{verb}"): on(M, named_resource)
       for kind in ("experiments", "registered-models")
       for method, verb in (("POST", "create"), ("GET", "get"), ("PATCH", "update"), ("DELETE", "delete"))},
}

# Traces, under MLflow's four prefixes: judged by the experiment each trace is in
TRACE_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/traces"): on(E, new_trace_experiment),
    ("POST", "/traces/search"): on(R, trace_locations),
    ("GET", "/traces/get"): on(R, trace_experiments),
    ("GET", "/traces/batchGet"): on(R, trace_experiments),
    ("POST", "/traces/batchGetInfos"): on(R, trace_experiments),
    ("POST", "/traces/delete-traces"): on(M, EXP),
    ("POST", "/traces/link-to-run"): on(E, lambda r, s: [*trace_experiments(r, s), *run_experiment(r, s)]),
    ("POST", "/traces/link-prompts"): on(E, trace_experiments),
    ("GET", "/traces/{trace_id}"): on(R, trace_experiments),
    ("PATCH", "/traces/{trace_id}/tags"): on(E, trace_experiments),
    ("DELETE", "/traces/{trace_id}/tags"): on(E, trace_experiments),
    ("POST", "/traces/{trace_id}/assessments"): on(E, trace_experiments),
    ("GET", "/traces/{trace_id}/assessments/{assessment_id}"): on(R, trace_experiments),
    ("PATCH", "/traces/{trace_id}/assessments/{assessment_id}"): on(E, trace_experiments),
    ("DELETE", "/traces/{trace_id}/assessments/{assessment_id}"): on(E, trace_experiments),
}

# MLflow 3's per-user grants (/api/3.0/mlflow and /ajax-api/3.0/mlflow)
MLFLOW3_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/users/permissions/grant"): on(M, named_resource),
    ("POST", "/users/permissions/revoke"): on(M, named_resource),
    ("GET", "/users/permissions/get"): SELF_OR_ADMIN,
    ("GET", "/users/permissions/list"): SELF_OR_ADMIN,
}

V1 = "/api/v1"
# A DAG's pages (and their /api/v1/ui twins): reading the DAG
DAG_PAGES = ("/dags/{dag_id}/grid", "/dags/{dag_id}/graph", "/dags/{dag_id}/code", "/dags/{dag_id}/trigger",
             "/dags/{dag_id}/runs/{run_id}/gantt", "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}")
PIPELINE_RUN = V1 + "/dags/{dag_id}/dagRuns/{run_id}"
TASK = PIPELINE_RUN + "/taskInstances/{task_id}"
MODEL = V1 + "/registered-models/{name}"
VERSION = MODEL + "/versions/{version}"
RULES: dict[tuple[str, str], Rule] = {
    # the docs pages (ui/api_docs.py: Swagger UI and ReDoc from the package, no OAuth redirect page)
    **{(m, p): SIGNED_IN for m in ("GET", "HEAD") for p in ("/api/v1/openapi.json", "/api/v1/docs",
                                                            "/api/v1/redoc")},
    ("POST", V1 + "/experiments"): Rule(after=owns_new_experiment, body=True),
    ("GET", V1 + "/experiments/by-name"): on(R, experiment_by_name("name")),
    ("POST", V1 + "/experiments/search"): readable("experiments", EXPERIMENT, "experiment_id"),
    ("GET", V1 + "/experiments/{experiment_id}"): on(R, EXP),
    ("PATCH", V1 + "/experiments/{experiment_id}"): on(E, EXP),
    ("DELETE", V1 + "/experiments/{experiment_id}"): on(M, EXP),
    ("POST", V1 + "/experiments/{experiment_id}/restore"): on(M, EXP),
    ("POST", V1 + "/experiments/{experiment_id}/tags"): on(E, EXP),
    ("POST", V1 + "/experiments/{experiment_id}/tags/delete"): on(E, EXP),
    ("POST", V1 + "/runs"): on(E, EXP),
    ("POST", V1 + "/runs/search"): on(R, experiments_listed),
    ("GET", V1 + "/runs/{run_id}"): on(R, RUN),
    ("PATCH", V1 + "/runs/{run_id}"): on(E, RUN),
    ("DELETE", V1 + "/runs/{run_id}"): on(M, RUN),
    ("POST", V1 + "/runs/{run_id}/restore"): on(M, RUN),
    ("POST", V1 + "/runs/{run_id}/batch"): on(E, RUN),
    ("POST", V1 + "/runs/{run_id}/tags/delete"): on(E, RUN),
    ("POST", V1 + "/runs/{run_id}/inputs"): on(E, RUN),
    ("POST", V1 + "/runs/{run_id}/outputs"): on(E, RUN),
    ("GET", V1 + "/runs/{run_id}/metric-history"): on(R, RUN),
    ("GET", V1 + "/gc/deleted"): ADMIN,
    ("DELETE", V1 + "/gc/runs/{run_id}"): ADMIN,
    ("DELETE", V1 + "/gc/experiments/{experiment_id}"): ADMIN,
    ("POST", V1 + "/logged-models"): on(E, EXP),
    ("POST", V1 + "/logged-models/search"): on(R, experiments_listed),
    ("GET", V1 + "/logged-models/{model_id}"): on(R, LM),
    ("DELETE", V1 + "/logged-models/{model_id}"): on(M, LM),
    ("POST", V1 + "/logged-models/{model_id}/finalize"): on(E, LM),
    ("POST", V1 + "/logged-models/{model_id}/tags"): on(E, LM),
    ("POST", V1 + "/logged-models/{model_id}/tags/delete"): on(E, LM),
    ("POST", V1 + "/logged-models/{model_id}/params"): on(E, LM),
    ("POST", V1 + "/registered-models"): Rule(after=owns_new_model),
    ("POST", V1 + "/registered-models/search"): readable("registered_models", REGISTERED_MODEL, "name"),
    ("GET", MODEL): on(R, RM),
    ("PATCH", MODEL): on(E, RM, after=model_renamed),
    ("DELETE", MODEL): on(M, RM, after=model_deleted),
    ("PUT", MODEL + "/tags"): on(E, RM),
    ("DELETE", MODEL + "/tags"): on(E, RM),
    ("GET", MODEL + "/latest-versions"): on(R, RM),
    ("POST", MODEL + "/versions"): on(E, RM),
    ("POST", V1 + "/model-versions/search"): readable("model_versions", REGISTERED_MODEL, "name"),
    ("GET", VERSION): on(R, RM),
    ("PATCH", VERSION): on(E, RM),
    ("DELETE", VERSION): on(M, RM),
    ("POST", VERSION + "/stage"): on(E, RM),
    ("PUT", VERSION + "/tags"): on(E, RM),
    ("DELETE", VERSION + "/tags"): on(E, RM),
    ("GET", VERSION + "/lineage"): on(R, RM),
    ("PUT", MODEL + "/aliases/{alias}"): on(E, RM),
    ("DELETE", MODEL + "/aliases/{alias}"): on(E, RM),
    ("GET", MODEL + "/aliases/{alias}"): on(R, RM),
    ("GET", V1 + "/traces"): on(R, experiments_or_default),
    ("POST", V1 + "/traces"): on(E, EXP),
    ("GET", V1 + "/traces/{trace_id}"): on(R, trace_experiments),
    ("GET", V1 + "/traces/{trace_id}/spans"): on(R, trace_experiments),
    ("PUT", V1 + "/traces/{trace_id}/tags/{key}"): on(E, trace_experiments),
    ("POST", "/v1/traces"): Rule(level=E, locate=header_experiment),  # OTLP/HTTP span export
    ("GET", V1 + "/registry/events"): SIGNED_IN,
    ("GET", V1 + "/inference-log"): SIGNED_IN,
    ("GET", V1 + "/inference-log/summary"): SIGNED_IN,
    # DAGs: READ sees them and reads logs, EDIT triggers, clears, marks and pauses
    ("GET", V1 + "/dags"): readable("dags", DAG, "dag_id"),
    ("GET", V1 + "/importErrors"): SIGNED_IN,
    ("GET", V1 + "/dags/{dag_id}"): on(R, dag),
    ("PATCH", V1 + "/dags/{dag_id}"): on(E, dag),
    ("POST", V1 + "/dags/{dag_id}/dagRuns"): on(E, dag),
    ("GET", V1 + "/dags/{dag_id}/dagRuns"): on(R, dag),
    ("GET", PIPELINE_RUN): on(R, dag),
    ("POST", PIPELINE_RUN + "/clear"): on(E, dag),
    ("GET", PIPELINE_RUN + "/lineage"): on(R, dag),
    ("POST", TASK + "/clear"): on(E, dag),
    ("PATCH", TASK): on(E, dag),
    ("GET", TASK + "/logs"): on(R, dag),
    ("GET", V1 + "/pools"): SIGNED_IN,
    ("PUT", V1 + "/pools/{name}"): ADMIN,
    ("GET", V1 + "/assets"): SIGNED_IN,
    ("GET", V1 + "/assets/events"): SIGNED_IN,
    ("POST", V1 + "/assets/events"): ADMIN,  # an event may trigger any DAG that waits for the asset
    # accounts: the routes check who (api_v1/accounts.py); admins only for users and audit
    ("GET", V1 + "/audit"): ADMIN,
    ("GET", V1 + "/users/me"): SIGNED_IN,
    ("GET", V1 + "/users"): ADMIN,
    ("POST", V1 + "/users"): ADMIN,
    ("PATCH", V1 + "/users/{username}/password"): SELF_OR_ADMIN,
    ("DELETE", V1 + "/users/{username}"): ADMIN,
    ("GET", V1 + "/tokens"): SIGNED_IN,
    ("POST", V1 + "/tokens"): SIGNED_IN,
    ("DELETE", V1 + "/tokens/{token_id}"): SIGNED_IN,
    ("GET", V1 + "/connections"): ADMIN,
    ("GET", V1 + "/connections/{conn_id}"): ADMIN,
    ("PUT", V1 + "/connections/{conn_id}"): ADMIN,
    ("DELETE", V1 + "/connections/{conn_id}"): ADMIN,
    ("GET", V1 + "/sessions"): SIGNED_IN,  # own sessions; an admin's, anyone's (the route checks)
    ("DELETE", V1 + "/sessions/{session_id}"): SIGNED_IN,
    ("GET", V1 + "/variables"): ADMIN,
    ("GET", V1 + "/variables/{key}"): ADMIN,
    ("PUT", V1 + "/variables/{key}"): ADMIN,
    ("DELETE", V1 + "/variables/{key}"): ADMIN,
    # permissions and groups (api_v1/permissions.py)
    ("GET", V1 + "/permissions"): ADMIN,
    ("GET", V1 + "/permissions/{resource_type}/{resource_id}"): on(M, named_resource),
    ("PUT", V1 + "/permissions/{resource_type}/{resource_id}/{principal_kind}/{principal}"): on(M, named_resource),
    ("DELETE", V1 + "/permissions/{resource_type}/{resource_id}/{principal_kind}/{principal}"):
        on(M, named_resource),
    ("GET", V1 + "/permissions/{resource_type}/{resource_id}/effective"): on(R, named_resource),
    ("GET", V1 + "/groups"): ADMIN,
    ("POST", V1 + "/groups"): ADMIN,
    ("DELETE", V1 + "/groups/{name}"): ADMIN,
    ("PUT", V1 + "/groups/{name}/members/{username}"): ADMIN,
    ("DELETE", V1 + "/groups/{name}/members/{username}"): ADMIN,
    # proxied artifacts: the experiment named by the path's first part
    ("GET", "/api/2.0/mlflow-artifacts/artifacts"): on(R, artifact_experiment),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/{path:path}"): on(R, artifact_experiment),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{path:path}"): Rule(level=E, locate=artifact_experiment),
    ("DELETE", "/api/2.0/mlflow-artifacts/artifacts/{path:path}"): Rule(level=M, locate=artifact_experiment),
    ("GET", "/api/3.0/mlflow/server-info"): SIGNED_IN,
    ("GET", "/ajax-api/3.0/mlflow/server-info"): SIGNED_IN,
    ("GET", "/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files"): on(R, LM),
    # the web UI's data and pages
    ("GET", V1 + "/ui/experiments"): readable("experiments", EXPERIMENT, "experiment_id"),
    ("GET", V1 + "/ui/experiments/{experiment_id}"): on(R, EXP),
    ("GET", V1 + "/ui/runs/{run_id}"): on(R, RUN),
    ("GET", V1 + "/ui/experiments/{experiment_id}/compare"): on(R, EXP),
    ("GET", V1 + "/ui/experiments/{experiment_id}/compare/metric-series"): on(R, EXP),
    ("GET", V1 + "/ui/experiments/{experiment_id}/traces"): on(R, EXP),
    ("GET", V1 + "/ui/traces/{trace_id}"): on(R, trace_experiments),
    ("GET", V1 + "/ui/runs/{run_id}/metric-series"): on(R, RUN),
    ("GET", V1 + "/ui/runs/{run_id}/artifacts/list"): on(R, RUN),
    ("GET", V1 + "/ui/runs/{run_id}/artifacts/preview"): on(R, RUN),
    ("GET", V1 + "/ui/runs/{run_id}/evaluation"): on(R, RUN),
    ("GET", V1 + "/ui/models"): readable("models", REGISTERED_MODEL, "name"),
    ("GET", V1 + "/ui/models/{name}"): on(R, RM),
    ("GET", V1 + "/ui/prompts"): readable("prompts", REGISTERED_MODEL, "name"),
    ("GET", V1 + "/ui/prompts/{name}"): on(R, RM),
    ("GET", V1 + "/ui/models/{name}/versions/{version}"): on(R, RM),
    ("GET", V1 + "/ui/audit"): ADMIN,
    ("GET", V1 + "/ui/dags"): readable("dags", DAG, "dag_id"),
    ("GET", V1 + "/ui/dags/{dag_id}"): on(R, dag),
    ("GET", V1 + "/ui/dags/{dag_id}/runs/{run_id}"): on(R, dag),
    **{("GET", V1 + "/ui" + page): on(R, dag) for page in DAG_PAGES},
    ("GET", V1 + "/ui/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/log"): on(R, dag),
    ("GET", "/"): SIGNED_IN,
    ("GET", "/experiments"): SIGNED_IN,
    ("GET", "/experiments/{experiment_id}"): on(R, EXP),
    ("GET", "/runs/{run_id}"): on(R, RUN),
    ("GET", "/runs/{run_id}/evaluation"): on(R, RUN),
    ("GET", "/experiments/{experiment_id}/compare"): on(R, EXP),
    ("GET", "/experiments/{experiment_id}/traces"): on(R, EXP),
    ("GET", "/traces/{trace_id}"): on(R, trace_experiments),
    ("GET", "/runs/{run_id}/artifacts/{path:path}"): on(R, RUN),
    ("GET", "/models"): SIGNED_IN,
    ("GET", "/models/{name}"): on(R, RM),
    ("GET", "/prompts"): SIGNED_IN,
    ("GET", "/prompts/{name}"): on(R, RM),
    ("GET", "/models/{name}/versions/{version}"): on(R, RM),
    ("GET", "/audit"): ADMIN,
    ("GET", "/dags"): SIGNED_IN,
    ("GET", "/dags/{dag_id}"): on(R, dag),
    ("GET", "/dags/{dag_id}/runs/{run_id}"): on(R, dag),
    **{("GET", page): on(R, dag) for page in DAG_PAGES},
    ("GET", "/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/log"): on(R, dag),
}
for _prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow"):
    RULES.update({(method, _prefix + path): rule for (method, path), rule in MLFLOW_RULES.items()})
for _prefix in ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
    RULES.update({(method, _prefix + path): rule for (method, path), rule in MLFLOW3_RULES.items()})
for _prefix in ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
    RULES.update({(method, _prefix + path): rule for (method, path), rule in TRACE_RULES.items()})


def readable_only(request: Any, items: list[Any], resource_type: str, key: Callable[[Any], str]) -> list[Any]:
    """The items of a page's list the signed-in user may READ (for the UI's HTML lists, whose
    JSON twins ``readable`` rules filter); all of them with auth off."""
    user = request.scope.get("state", {}).get("user")
    permissions = request.app.state.services.permissions
    if not isinstance(user, User) or permissions is None:
        return items
    allowed = permissions.readable(user, resource_type, [str(key(item)) for item in items])
    return [item for item in items if str(key(item)) in allowed]


def may_edit(request: Any, resource_type: str, resource_id: str) -> bool:
    """Whether the signed-in user holds EDIT on one object, so a page shows its edit controls
    (the API checks again on each call); always True with auth off."""
    user = request.scope.get("state", {}).get("user")
    permissions = request.app.state.services.permissions
    if not isinstance(user, User) or permissions is None:
        return True
    return bool(permissions.level(user, resource_type, str(resource_id)) >= Level.EDIT)


def app_routes(routes: Iterable[object], prefix: str = "") -> list[tuple[str, str]]:
    """(method, path template) of every route of an app, through included routers (FastAPI
    keeps an included router as one entry holding it and its prefix)."""
    from starlette.routing import Mount

    out: list[tuple[str, str]] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            out += app_routes(list(included.routes), prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        elif isinstance(route, Mount):
            out.append(("GET", prefix + route.path + "/{path:path}"))
        elif hasattr(route, "path"):
            out += [(m, prefix + route.path) for m in sorted(getattr(route, "methods", None) or {"GET"})]  # type: ignore[attr-defined]
    return out


def missing_rules(routes: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Routes that need a rule (not open, not HEAD of a GET) and have none."""
    return [(m, p) for m, p in routes if not is_open(p) and (m, p) not in RULES
            and not (m == "HEAD" and ("GET", p) in RULES)]


class AccessMiddleware:
    """Enforces RULES after AuthMiddleware put the signed-in user in the scope: 403 when the
    user lacks the level (MLflow's plain "Permission denied" on its routes, the JSON error on
    the others), then runs the rule's ``after`` on a successful answer."""

    def __init__(self, app: ASGIApp, services: Services, permissions: Permissions, routes: list[tuple[str, str]]
                 ) -> None:
        self.app = app
        self.services = services
        self.permissions = permissions
        self.compiled = [(m, p, compile_path(p)[0]) for m, p in routes if (m, p) in RULES]

    def match(self, method: str, path: str) -> tuple[Rule, dict[str, str]] | None:
        method = "GET" if method == "HEAD" else method
        for route_method, template, regex in self.compiled:
            if route_method == method:
                found = regex.match(path)
                if found:
                    return RULES[(method, template)], found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("state", {}).get("user") if scope["type"] == "http" else None
        matched = self.match(scope["method"], scope["path"]) if isinstance(user, User) else None
        # open, not signed in (AuthMiddleware answered), or no such route (its 404)
        if matched is None or not isinstance(user, User):
            await self.app(scope, receive, send)
            return
        rule, path_params = matched
        body = b""
        if rule.body and scope["method"] not in ("GET", "HEAD"):
            body, receive = await _read_body(receive)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(scope["method"], {**_query(scope), **_json(body, scope), **path_params}, user, headers)
        try:
            await anyio.to_thread.run_sync(self.check, rule, request)
        except TrackflowError as exc:
            await _refuse(scope, send, exc)
            return
        if rule.after is None:
            await self.app(scope, receive, send)
            return
        await self._then(rule.after, request, scope, receive, send)

    def check(self, rule: Rule, r: Request) -> None:
        if r.user.is_admin:
            return
        if rule.admin:
            raise PermissionDenied(f"user {r.user.username!r} is not an admin")
        if rule.self_param is not None:
            target = r.get(rule.self_param)
            if target is not None and target != r.user.username:
                raise PermissionDenied(f"user {r.user.username!r} may only act on their own account")
        if rule.locate is not None and rule.level is not None:
            for resource_type, resource_id in rule.locate(r, self.services):
                self.permissions.require(r.user, resource_type, resource_id, rule.level)

    async def _then(self, after: After, request: Request, scope: Scope, receive: Receive, send: Send) -> None:
        """Holds the answer until ``after`` ran, so a creator's next request finds its grant."""
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if start is not None and start["status"] == 200:
            answer = _json(b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body"), None)
            try:
                replaced = await anyio.to_thread.run_sync(after, request, answer, self.services, self.permissions)
            except Exception:  # the change itself stands; a lost grant is logged loudly (an admin can grant it)
                log.exception("%s after %s %s failed", getattr(after, "__name__", after), scope["method"],
                              scope["path"])
                replaced = None
            if replaced is not None:
                body = json.dumps(replaced).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                held = [{**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]},
                        {"type": "http.response.body", "body": body}]
        for message in held:
            await send(message)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, sent = b"".join(chunks), [False]

    async def replay() -> Message:
        if not sent[0]:
            sent[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _query(scope: Scope) -> dict[str, Any]:
    """The query's parameters; a repeated one (experiment_ids=1&experiment_ids=2) as a list."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
        if key in out:
            out[key] = [*out[key], value] if isinstance(out[key], list) else [out[key], value]
        else:
            out[key] = value
    return out


def _json(body: bytes, scope: Scope | None) -> Any:
    if not body:
        return {}
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}  # the route itself answers a body it cannot read
    return value if isinstance(value, dict) or scope is None else {}


async def _refuse(scope: Scope, send: Send, exc: TrackflowError) -> None:
    status = 403 if isinstance(exc, PermissionDenied) else 404 if isinstance(exc, NotFound) else 400
    if status == 403 and scope["path"].startswith(MLFLOW_PATHS):
        body, kind = MLFLOW_FORBIDDEN, b"text/html; charset=utf-8"
    else:
        body, kind = json.dumps({"error_code": exc.error_code, "message": exc.message}).encode(), b"application/json"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

