"""What /api/v1 answers, as pydantic models: the OpenAPI document's response schemas.

The routes build their JSON with the codecs of ``trackflow.store.rest`` (which the REST store
reads back), so these models document the bodies rather than produce them: :func:`returns`
puts a model in the document without re-validating each response, which keeps responses
byte-for-byte what the codecs make and costs nothing on hot paths. That the two agree is
checked by tests/server/test_openapi_fuzz.py, which validates every response it gets against
this document. ``extra="forbid"`` makes the schemas closed, so a key added to a codec and not
here fails that test. Names end in ``Out`` (request bodies in ``In``), which also keeps their
OpenAPI names apart from the entity dataclasses that the /api/v1/ui pages document.

Integer bounds shared by the routers' inputs live here too: anything stored in a database
column fits a signed 64-bit integer.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]


def _json_ints_fit(value: Any) -> Any:
    """Free-form JSON (a DAG run's conf) is stored and answered as JSON, which the server's
    encoder (orjson) writes only with integers within 64 bits: refuse any other, naming it."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, int) and not isinstance(item, bool) and not INT64_MIN <= item <= INT64_MAX:
            raise ValueError(f"integer {item} is outside the signed 64-bit range")
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_json_ints_fit)]

# A model version number as the registry stores it: ASCII digits (str.isdigit also takes "³",
# which int() refuses) within a 64-bit integer. The registry says which numbers exist.
VERSION_PATTERN = r"^[0-9]{1,18}$"


def _version_number(value: str) -> str:
    if not re.fullmatch(VERSION_PATTERN, value):
        raise ValueError(f"model version must be a positive integer, got {value[:40]!r}")
    return value


_VERSION_DOC = {"pattern": VERSION_PATTERN, "description": "a model version number"}
VersionNumber = Annotated[str, AfterValidator(_version_number), Field(json_schema_extra=_VERSION_DOC)]
VersionPath = Annotated[str, AfterValidator(_version_number), Path(json_schema_extra=_VERSION_DOC)]


def returns(model: type[Any]) -> dict[str, Any]:
    """Route keywords documenting ``model`` (a pydantic model, or a dataclass the route's
    JSONResponse encodes) as the 200 body, without FastAPI validating or re-serializing what
    the route returns."""
    return {"response_model": None, "responses": {200: {"model": model}}}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(_Out):
    """Every 4xx (and MLflow's error shape): a code and a message naming the bad value."""

    error_code: str = Field(examples=["INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"])
    message: str


# Bad input answers 400 and a missing resource 404, both with ErrorBody. Documenting the range
# also keeps FastAPI from listing its 422, which create_app's error handlers turn into 400.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Bad input (400) or a missing resource (404)"}
}


class EmptyOut(_Out):
    """``{}``: the change was made."""


# Tracking ----------------------------------------------------------------------------------
class ExperimentIdOut(_Out):
    experiment_id: str


class ExperimentOut(_Out):
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: str
    tags: dict[str, str]
    creation_time: int | None
    last_update_time: int | None


class ExperimentsOut(_Out):
    experiments: list[ExperimentOut]
    next_page_token: str | None


class MetricOut(_Out):
    """A metric value; NaN and infinities are the strings "NaN", "Infinity", "-Infinity".
    The model and dataset fields are present only on metrics logged with them (MLflow 3)."""

    key: str
    value: float | str
    timestamp: int
    step: int
    model_id: str = ""
    dataset_name: str = ""
    dataset_digest: str = ""
    run_id: str = ""


class RunInfoOut(_Out):
    run_id: str
    experiment_id: str
    run_name: str | None
    user_id: str
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str


class RunDataOut(_Out):
    metrics: list[MetricOut]
    params: dict[str, str]
    tags: dict[str, str]


class DatasetOut(_Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str
    digest: str
    source_type: str
    source: str
    schema_: str | None = Field(alias="schema")
    profile: str | None
    tags: dict[str, str]


class RunInputsOut(_Out):
    datasets: list[DatasetOut]
    model_ids: list[str]


class RunOutputModelOut(_Out):
    model_id: str
    step: int


class RunOutputsOut(_Out):
    models: list[RunOutputModelOut]


class RunOut(_Out):
    info: RunInfoOut
    data: RunDataOut
    inputs: RunInputsOut
    outputs: RunOutputsOut


class RunsOut(_Out):
    runs: list[RunOut]
    next_page_token: str | None


class MetricHistoryOut(_Out):
    metrics: list[MetricOut]
    next_page_token: str | None


class DeletedOut(_Out):
    """DeletedOut runs and experiments, for garbage collection."""

    runs: list[RunOut]
    experiments: list[ExperimentOut]


# Logged models -----------------------------------------------------------------------------
class LoggedModelOut(_Out):
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: str
    lifecycle_stage: str
    model_type: str | None
    source_run_id: str | None
    status_message: str | None
    tags: dict[str, str]
    params: dict[str, str]
    metrics: list[MetricOut]


class LoggedModelsOut(_Out):
    models: list[LoggedModelOut]
    next_page_token: str | None


# Registry ----------------------------------------------------------------------------------
class ModelVersionOut(_Out):
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    source: str
    run_id: str | None
    run_link: str | None
    description: str
    user_id: str
    status: str
    status_message: str | None
    current_stage: str
    tags: dict[str, str]
    aliases: list[str]


class RegisteredModelOut(_Out):
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str
    tags: dict[str, str]
    aliases: dict[str, str] = Field(description="alias -> version")
    latest_versions: list[ModelVersionOut]


class RegisteredModelsOut(_Out):
    registered_models: list[RegisteredModelOut]
    next_page_token: str | None


class ModelVersionsOut(_Out):
    model_versions: list[ModelVersionOut]


class ModelVersionsPageOut(_Out):
    model_versions: list[ModelVersionOut]
    next_page_token: str | None


class VersionLineageOut(_Out):
    """Where a version came from: its run and, when a pipeline task produced it, that task."""

    name: str
    version: str
    source: str
    run_id: str | None
    experiment_id: str | None
    run_name: str | None
    dag_id: str | None
    dag_run_id: str | None
    task_id: str | None
    try_number: str | None


class RegistryEventOut(_Out):
    event_id: int
    timestamp: int
    event_type: str
    name: str
    version: str | None
    alias: str | None
    payload: dict[str, Any]


class RegistryEventsOut(_Out):
    events: list[RegistryEventOut]


# Inference log -----------------------------------------------------------------------------
class InferenceRecordOut(_Out):
    endpoint: str
    timestamp: int
    inputs: list[dict[str, Any]]
    predictions: Any
    latency_ms: float
    record_id: int | None


class InferenceRecordsOut(_Out):
    records: list[InferenceRecordOut]


class FeatureSummaryOut(_Out):
    feature: str
    count: int
    nulls: int
    mean: float | None
    std: float | None
    min: float | None
    max: float | None
    distinct: int | None


class WindowSummaryOut(_Out):
    window_start: int
    window_end: int
    requests: int
    rows: int
    mean_latency_ms: float
    features: list[FeatureSummaryOut]


class InferenceSummaryOut(_Out):
    windows: list[WindowSummaryOut]


# Pipelines ---------------------------------------------------------------------------------
class DagOut(_Out):
    dag_id: str
    fileloc: str
    is_paused: bool
    is_active: bool
    last_parsed: str | None
    description: str | None
    schedule: str | None
    timezone: str | None
    start_date: str | None
    end_date: str | None
    catchup: bool | None
    max_active_runs: int | None
    max_active_tasks: int | None
    tags: list[str]
    owners: list[str]
    task_count: int


class DagTaskOut(_Out):
    task_id: str
    operator: str
    trigger_rule: str
    retries: int
    retry_delay: float
    execution_timeout: float | None
    pool: str
    priority_weight: int
    is_mapped: bool
    task_group: str | None
    mapped_group: str | None = None  # the mapped task group whose map indexes the task has
    is_setup: bool = False
    is_teardown: bool = False
    upstream: list[str]
    downstream: list[str]
    doc: str | None


class DagEdgeOut(_Out):
    source: str
    target: str


class DagDetailOut(DagOut):
    params: dict[str, Any]
    doc_md: str | None
    tasks: list[DagTaskOut]
    edges: list[DagEdgeOut]


class ImportErrorOut(_Out):
    fileloc: str
    stacktrace: str
    timestamp: str | None


class ImportErrorsOut(_Out):
    import_errors: list[ImportErrorOut]


class DagsOut(_Out):
    """Active DAGs and the import errors of DAG files that failed to load."""

    dags: list[DagOut]
    import_errors: list[ImportErrorOut]


PARTITION_KEY: Any = Field(default=None, min_length=1, max_length=250)


class DagRunOut(_Out):
    dag_id: str
    run_id: str
    state: str
    run_type: str
    logical_date: str | None
    data_interval_start: str | None
    data_interval_end: str | None
    run_after: str | None
    conf: dict[str, Any]
    queued_at: str | None
    start_date: str | None
    end_date: str | None
    tracking_run_id: str | None
    experiment_id: str | None
    partition_key: str | None = None
    partition_date: str | None = None


class DagRunsOut(_Out):
    dag_runs: list[DagRunOut]


# Assets ------------------------------------------------------------------------------------
class AssetEventOut(_Out):
    id: int
    asset_name: str
    asset_uri: str
    timestamp: str
    extra: dict[str, Any]
    source: str
    source_dag_id: str | None
    source_run_id: str | None
    source_task_id: str | None
    source_map_index: int
    partition_key: str | None = None


class AssetEventsOut(_Out):
    asset_events: list[AssetEventOut]


class AssetOut(_Out):
    id: int
    name: str
    uri: str
    group: str
    extra: dict[str, Any]
    created_at: str | None
    consuming_dags: list[str]


class AssetsOut(_Out):
    assets: list[AssetOut]


class TaskInstanceOut(_Out):
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    start_date: str | None
    end_date: str | None
    duration: float | None
    queued_at: str | None
    pool: str
    priority_weight: int
    operator: str
    hostname: str | None
    pid: int | None
    tracking_run_id: str | None
    next_retry_at: str | None
    note: str | None
    rendered_map_index: str | None = Field(
        default=None, description="a mapped task instance's map_index_template, rendered when its try ended")


class DagRunDetailOut(DagRunOut):
    task_instances: list[TaskInstanceOut]
    triggering_asset_events: list[AssetEventOut]


class ClearedOut(_Out):
    cleared: list[str] = Field(description="ids of the task instances cleared")


class MarkedOut(_Out):
    marked: list[str]
    state: str


class RunLineageEdgeOut(_Out):
    producer_task_id: str
    producer_map_index: int
    key: str
    consumer_task_id: str
    consumer_map_index: int


class RunLineageOut(_Out):
    """Which task's value each task consumed."""

    edges: list[RunLineageEdgeOut]


class TaskLogOut(_Out):
    task_id: str
    map_index: int
    try_number: int
    state: str | None
    content: str
    next_offset: int


class PoolOut(_Out):
    name: str
    slots: int
    description: str


class PoolUsageOut(PoolOut):
    occupied: int


class PoolsOut(_Out):
    pools: list[PoolUsageOut]


# Accounts (auth on) ---------------------------------------------------------------------------
class UserOut(_Out):
    username: str
    is_admin: bool
    created_at: str | None


class UsersOut(_Out):
    users: list[UserOut]


class TokenOut(_Out):
    id: str
    username: str
    name: str
    created_at: str | None
    revoked_at: str | None


class TokensOut(_Out):
    tokens: list[TokenOut]


class SessionOut(_Out):
    id: str
    username: str
    created_at: str
    last_seen_at: str
    client: str
    user_agent: str
    method: str
    current: bool  # the session this request came with


class SessionsOut(_Out):
    sessions: list[SessionOut]


class AuditEntryOut(_Out):
    id: int
    at: str
    username: str | None
    method: str
    path: str
    query: str
    status: int
    client: str


class AuditOut(_Out):
    entries: list[AuditEntryOut]


class NewTokenOut(TokenOut):
    """The token itself is in this answer only."""

    token: str


# Variables ------------------------------------------------------------------------------------
class VariableOut(_Out):
    key: str
    value: str


class VariableListed(_Out):
    key: str
    description: str
    updated_at: str | None


class VariablesOut(_Out):
    variables: list[VariableListed]


class ConnectionListed(_Out):
    conn_id: str
    conn_type: str
    description: str | None
    host: str | None
    schema_: str | None = Field(alias="schema")
    login: str | None
    port: int | None


class ConnectionOut(ConnectionListed):
    password: str | None
    extra: str | None


class ConnectionsOut(_Out):
    connections: list[ConnectionListed]


# Permissions and groups --------------------------------------------------------------------
class GrantOut(_Out):
    principal_kind: str
    principal: str
    resource_type: str
    resource_id: str
    permission: str


class GrantsOut(_Out):
    permissions: list[GrantOut]


class EffectivePermissionOut(_Out):
    username: str
    resource_type: str
    resource_id: str
    permission: str


class GroupOut(_Out):
    name: str
    members: list[str]
    created_at: str | None


class GroupsOut(_Out):
    groups: list[GroupOut]
