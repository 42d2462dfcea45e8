"""The task API: what a task process on a worker may do, over HTTP (Airflow 3's task
execution API, in trackflow's terms).

Mounted by create_app under ``/task-api/v1``. Each route is one method of the try's
:class:`~trackflow.pipelines.runtime.channel.StoreChannel`, bound to the task instance in the
path and the bearer token of the request. The try token is the only credential: it is
checked against the task instance on every call (compare-and-set on writes), so it grants
exactly its own try, and nothing once the try is fenced — then every route answers 409.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from trackflow.entities.assets import NewAssetEvent
from trackflow.entities.pipelines import LineageEdge, TaskOutput
from trackflow.errors import AlreadyExists, Conflict, NotFound
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.runtime.channel import StoreChannel, from_wire, to_wire
from trackflow.server.api_v1.pipelines import pipelines
from trackflow.store.pipeline_base import Deferral

router = APIRouter(tags=["task-api"])

MAP_INDEX = Path(ge=-1, le=2**31 - 1)
FENCED = "the try was cleared, marked or re-queued: this token holds it no more"


def channel(
    dag_id: str, run_id: str, task_id: str, map_index: Annotated[int, MAP_INDEX],
    authorization: Annotated[str, Header()] = "", p: Pipelines = Depends(pipelines),
) -> StoreChannel:
    """The try of the path, if the bearer token is its token (else 401, or 409 once fenced)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "the task API needs the try token: Authorization: Bearer <token>")
    try:
        ti = p.store.get_task_instance(dag_id, run_id, task_id, map_index)
    except NotFound:
        raise HTTPException(404, f"no task instance {task_id}[{map_index}] in run {run_id!r} of {dag_id!r}") from None
    if not ti.token or not hmac.compare_digest(ti.token.encode(), token.encode()):
        raise HTTPException(409, FENCED)
    return StoreChannel(p.store, dag_id, run_id, (task_id, map_index), token, settings=p.settings)


Channel = Annotated[StoreChannel, Depends(channel)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartBody(_Body):
    now: datetime
    hostname: str = Field(max_length=255)
    pid: int = Field(ge=0, le=2**31 - 1)
    log_path: str = Field(max_length=4096)
    tracking_run_id: str | None = Field(default=None, max_length=64)


class BeatBody(_Body):
    now: datetime


class AssetEventBody(_Body):
    name: str = Field(min_length=1, max_length=1500)
    uri: str = Field(min_length=1, max_length=1500)
    group: str = Field(default="asset", min_length=1, max_length=1500)
    extra: dict[str, Any] = Field(default_factory=dict)
    alias: str | None = Field(default=None, min_length=1, max_length=1500)
    partition_key: str | None = Field(default=None, min_length=1, max_length=250)


class DeferralBody(_Body):
    classpath: str = Field(min_length=3, max_length=1000)
    trigger_kwargs: str = Field(max_length=1_000_000)
    next_method: str = Field(min_length=1, max_length=100)
    next_kwargs: str = Field(max_length=1_000_000)
    timeout_at: datetime | None = None


class FinishBody(_Body):
    state: str = Field(max_length=32)
    now: datetime
    next_retry_at: datetime | None = None
    skip_task_ids: list[Annotated[str, Field(max_length=250)]] = Field(default_factory=list)
    skip_at_own_index: list[Annotated[str, Field(max_length=250)]] = Field(default_factory=list)
    note: str | None = Field(default=None, max_length=4000)
    asset_events: list[AssetEventBody] = Field(default_factory=list, max_length=1000)
    deferral: DeferralBody | None = None
    rendered_map_index: str | None = Field(default=None, max_length=250)


class OutputBody(_Body):
    output: dict[str, Any]
    now: datetime


class LineageBody(_Body):
    edges: list[dict[str, Any]]


def _fenced() -> HTTPException:
    return HTTPException(409, FENCED)


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/run")
def get_run(ch: Channel) -> dict[str, Any]:
    return to_wire(ch.get_dag_run())


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/start")
def start(body: StartBody, ch: Channel) -> dict[str, Any]:
    ti = ch.start(body.now, body.hostname, body.pid, body.log_path, body.tracking_run_id)
    if ti is None:
        raise _fenced()
    return to_wire(ti)


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/heartbeat")
def heartbeat(body: BeatBody, ch: Channel) -> dict[str, Any]:
    if not ch.heartbeat(body.now):
        raise _fenced()
    return {}


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/holds")
def holds(ch: Channel) -> dict[str, Any]:
    if not ch.holds():
        raise _fenced()
    return {}


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/finish")
def finish(body: FinishBody, ch: Channel) -> dict[str, Any]:
    events = [NewAssetEvent(e.name, e.uri, e.group, e.extra, alias=e.alias, partition_key=e.partition_key)
              for e in body.asset_events]
    deferral = Deferral(**body.deferral.model_dump()) if body.deferral else None
    if not ch.finish(body.state, body.now, body.next_retry_at, body.skip_task_ids, body.note, events, deferral,
                     body.skip_at_own_index, body.rendered_map_index):
        raise _fenced()
    return {}


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/run/asset-events")
def run_asset_events(ch: Channel) -> dict[str, Any]:
    return {"events": [to_wire(e) for e in ch.run_asset_events()]}


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/asset-events")
def asset_events(ch: Channel, name: Annotated[str, Query(min_length=1, max_length=1500)],
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100, alias: bool = False) -> dict[str, Any]:
    return {"events": [to_wire(e) for e in ch.asset_events(name, limit, alias)]}


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/outputs")
def put_output(body: OutputBody, ch: Channel) -> dict[str, Any]:
    try:
        output = from_wire(TaskOutput, body.output)
    except (TypeError, ValueError) as exc:
        raise HTTPException(400, f"not a task output: {exc}") from None
    if not ch.put_output(output, body.now):
        raise _fenced()
    return {}


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/outputs")
def get_outputs(ch: Channel, task_id_: Annotated[str, Query(alias="task_id", max_length=250)],
                key: Annotated[str, Query(max_length=512)] = "return_value") -> dict[str, Any]:
    return {"outputs": [to_wire(o) for o in ch.get_outputs(task_id_, key)]}


class ExternalStatesBody(_Body):
    dag_id: str = Field(min_length=1, max_length=250)
    logical_dates: list[datetime] = Field(max_length=1000)
    task_ids: list[Annotated[str, Field(max_length=250)]] | None = Field(default=None, max_length=1000)
    task_group_id: str | None = Field(default=None, min_length=1, max_length=250)


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/external-states")
def external_states(body: ExternalStatesBody, ch: Channel) -> dict[str, Any]:
    return {"states": ch.states_at(body.dag_id, body.logical_dates, body.task_ids, body.task_group_id)}


class TriggerDagRunBody(_Body):
    dag_id: str = Field(min_length=1, max_length=250)
    run_id: str = Field(min_length=1, max_length=250)
    conf: dict[str, Any] = Field(default_factory=dict)
    logical_date: datetime
    reset: bool = False
    fail_if_paused: bool = False


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/trigger-dag-run")
def trigger_dag_run(body: TriggerDagRunBody, ch: Channel) -> dict[str, Any]:
    """The outcome in the body: HTTP 409 means a fenced try here, not an existing run."""
    try:
        ch.trigger_dag_run(body.dag_id, body.run_id, body.conf, body.logical_date, body.reset, body.fail_if_paused)
    except AlreadyExists as exc:
        return {"outcome": "already_exists", "message": exc.message}
    except Conflict as exc:
        return {"outcome": "paused", "message": exc.message}
    return {"outcome": "triggered"}


@router.get("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/dag-run-state")
def dag_run_state(ch: Channel, other_dag_id: Annotated[str, Query(alias="dag_id", max_length=250)],
                  other_run_id: Annotated[str, Query(alias="run_id", max_length=250)]) -> dict[str, Any]:
    return {"state": ch.dag_run_state(other_dag_id, other_run_id)}


class StateGetBody(_Body):
    asset: str | None = Field(default=None, min_length=1, max_length=1500)
    key: str = Field(min_length=1, max_length=250)
    now: datetime


class StatePutBody(_Body):
    asset: str | None = Field(default=None, min_length=1, max_length=1500)
    key: str | None = Field(default=None, min_length=1, max_length=250)
    value: str | None = Field(default=None, max_length=10_000_000)
    expires_at: datetime | None = None
    now: datetime


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/state/get")
def get_state(body: StateGetBody, ch: Channel) -> dict[str, Any]:
    return {"value": ch.get_state(body.asset, body.key, body.now)}


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/state/put")
def put_state(body: StatePutBody, ch: Channel) -> dict[str, Any]:
    if not ch.put_state(body.asset, body.key, body.value, body.expires_at, body.now):
        raise _fenced()
    return {}


class VariableGetBody(_Body):
    key: str = Field(min_length=1, max_length=250)


class VariablePutBody(_Body):
    key: str = Field(min_length=1, max_length=250)
    value: str | None = Field(default=None, max_length=10_000_000)
    description: str | None = Field(default=None, max_length=10_000)


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/variables/get")
def get_variable(body: VariableGetBody, ch: Channel) -> dict[str, Any]:
    if not ch.holds():
        raise _fenced()
    return {"value": ch.get_variable(body.key)}


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/variables/put")
def put_variable(body: VariablePutBody, ch: Channel) -> dict[str, Any]:
    if not ch.holds():
        raise _fenced()
    return {"changed": ch.put_variable(body.key, body.value, body.description)}


class ConnectionGetBody(_Body):
    conn_id: str = Field(min_length=1, max_length=250)


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/connections/get")
def get_connection(body: ConnectionGetBody, ch: Channel) -> dict[str, Any]:
    """A stored connection with its password and extra, for the try holding this token (a
    worker has no Fernet key; the environment's AIRFLOW_CONN_* were looked at before this)."""
    if not ch.holds():
        raise _fenced()
    found = ch.get_connection(body.conn_id)
    return {"connection": None if found is None else asdict(found)}


@router.post("/dags/{dag_id}/runs/{run_id}/tasks/{task_id}/{map_index}/lineage")
def record_lineage(body: LineageBody, ch: Channel) -> dict[str, Any]:
    try:
        edges = [from_wire(LineageEdge, e) for e in body.edges]
    except (TypeError, ValueError) as exc:
        raise HTTPException(400, f"not a lineage edge: {exc}") from None
    ch.record_lineage(edges)
    return {}
