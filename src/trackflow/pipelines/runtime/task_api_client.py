"""The task API client: a :class:`~trackflow.pipelines.runtime.channel.TryChannel` over HTTP.

A task process on a worker reaches ``trackflow server`` at ``{api_url}/dags/{dag}/runs/{run}/
tasks/{task}/{map_index}/...`` with its try token as the bearer credential; the server checks
the token against the task instance on every call (see server/task_api/routes.py). HTTP 409
means the try was fenced. Transient failures (connection refused while a server replica
restarts, 502/503/504) are retried with backoff by urllib3's Retry, so a short server outage
does not fail a running task.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from trackflow.entities.assets import AssetEvent, NewAssetEvent
from trackflow.entities.connection import Connection
from trackflow.entities.pipelines import DagRun, LineageEdge, TaskInstance, TaskOutput
from trackflow.errors import AlreadyExists, Conflict, NotFound, TrackflowError
from trackflow.pipelines.runtime.channel import from_wire, to_wire
from trackflow.store.pipeline_base import Deferral, TIKey

# Every call is idempotent for a given try (CAS on the token), so POSTs may be retried too.
_RETRY = Retry(total=8, connect=8, read=3, backoff_factor=0.25, backoff_max=4.0,
               status_forcelist=(502, 503, 504), allowed_methods=None, raise_on_status=False)


def _q(value: str) -> str:
    return quote(value, safe="")


class TaskApiChannel:
    def __init__(self, api_url: str, dag_id: str, run_id: str, key: TIKey, token: str,
                 timeout: float = 60.0) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.key = key
        self.token = token
        self.timeout = timeout
        self.base = (f"{api_url.rstrip('/')}/dags/{_q(dag_id)}/runs/{_q(run_id)}/tasks/{_q(key[0])}/{key[1]}")
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=_RETRY))
        self.session.mount("https://", HTTPAdapter(max_retries=_RETRY))
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """The decoded JSON answer; None for 409 (fenced)."""
        data = None if body is None else orjson.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            response = self.session.request(method, self.base + path, data=data, params=params, headers=headers,
                                            timeout=self.timeout)
        except requests.RequestException as exc:
            raise TrackflowError(f"cannot reach the task API at {self.base}: {exc}") from None
        if response.status_code == 409:
            return None
        if response.status_code == 404:
            raise NotFound(_message(response))
        if response.status_code >= 400:
            raise TrackflowError(f"task API answered {response.status_code}: {_message(response)}")
        return orjson.loads(response.content) if response.content else {}

    def get_dag_run(self) -> DagRun:
        answer = self._call("GET", "/run")
        if answer is None:
            raise NotFound(f"run {self.run_id!r} is not readable with this try's token any more")
        return from_wire(DagRun, answer)

    def start(self, now: datetime, hostname: str, pid: int, log_path: str,
              tracking_run_id: str | None) -> TaskInstance | None:
        body = {"now": now.isoformat(), "hostname": hostname, "pid": pid, "log_path": log_path,
                "tracking_run_id": tracking_run_id}
        answer = self._call("POST", "/start", body)
        return None if answer is None else from_wire(TaskInstance, answer)

    def heartbeat(self, now: datetime) -> bool:
        return self._call("POST", "/heartbeat", {"now": now.isoformat()}) is not None

    def holds(self) -> bool:
        return self._call("GET", "/holds") is not None

    def finish(self, state: str, now: datetime, next_retry_at: datetime | None, skip_task_ids: Sequence[str],
               note: str | None, asset_events: Sequence[NewAssetEvent] = (), deferral: Deferral | None = None,
               skip_at_own_index: Sequence[str] = (), rendered_map_index: str | None = None) -> bool:
        body = {"state": state, "now": now.isoformat(), "deferral": to_wire(deferral) if deferral else None,
                "rendered_map_index": rendered_map_index,
                "next_retry_at": next_retry_at.isoformat() if next_retry_at else None,
                "skip_task_ids": list(skip_task_ids), "skip_at_own_index": list(skip_at_own_index), "note": note,
                "asset_events": [{"name": e.name, "uri": e.uri, "group": e.group, "extra": e.extra, "alias": e.alias,
                                  "partition_key": e.partition_key}
                                 for e in asset_events]}
        return self._call("POST", "/finish", body) is not None

    def run_asset_events(self) -> list[AssetEvent]:
        answer = self._call("GET", "/run/asset-events")
        if answer is None:
            raise NotFound(f"run {self.run_id!r} is not readable with this try's token any more")
        return [from_wire(AssetEvent, e) for e in answer["events"]]

    def asset_events(self, name: str, limit: int, alias: bool = False) -> list[AssetEvent]:
        params: dict[str, Any] = {"name": name, "limit": limit, "alias": alias}
        answer = self._call("GET", "/asset-events", params=params)
        if answer is None:
            raise NotFound("asset events are not readable with this try's token any more")
        return [from_wire(AssetEvent, e) for e in answer["events"]]

    def put_output(self, output: TaskOutput, now: datetime) -> bool:
        return self._call("POST", "/outputs", {"output": to_wire(output), "now": now.isoformat()}) is not None

    def get_outputs(self, task_id: str, key: str) -> list[TaskOutput]:
        answer = self._call("GET", "/outputs", params={"task_id": task_id, "key": key})
        if answer is None:
            raise NotFound(f"outputs of run {self.run_id!r} are not readable with this try's token any more")
        return [from_wire(TaskOutput, o) for o in answer["outputs"]]

    def states_at(self, dag_id: str, logical_dates: Sequence[datetime], task_ids: Sequence[str] | None,
                  task_group_id: str | None = None) -> list[str | None]:
        body = {"dag_id": dag_id, "logical_dates": [d.isoformat() for d in logical_dates],
                "task_ids": None if task_ids is None else list(task_ids), "task_group_id": task_group_id}
        answer = self._call("POST", "/external-states", body)
        if answer is None:
            raise NotFound("other DAGs' states are not readable with this try's token any more")
        return list(answer["states"])

    def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: datetime, reset: bool,
                        fail_if_paused: bool) -> None:
        body = {"dag_id": dag_id, "run_id": run_id, "conf": conf, "logical_date": logical_date.isoformat(),
                "reset": reset, "fail_if_paused": fail_if_paused}
        answer = self._call("POST", "/trigger-dag-run", body)
        if answer is None:
            raise NotFound("other DAGs cannot be triggered with this try's token any more")
        if answer["outcome"] == "already_exists":
            raise AlreadyExists(answer["message"])
        if answer["outcome"] == "paused":
            raise Conflict(answer["message"])

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        answer = self._call("GET", "/dag-run-state", params={"dag_id": dag_id, "run_id": run_id})
        if answer is None:
            raise NotFound("DAG runs are not readable with this try's token any more")
        return answer["state"]  # type: ignore[no-any-return]

    def get_state(self, asset: str | None, key: str, now: datetime) -> str | None:
        answer = self._call("POST", "/state/get", {"asset": asset, "key": key, "now": now.isoformat()})
        if answer is None:
            raise NotFound("the state store is not readable with this try's token any more")
        return answer["value"]  # type: ignore[no-any-return]

    def put_state(self, asset: str | None, key: str | None, value: str | None, expires_at: datetime | None,
                  now: datetime) -> bool:
        body = {"asset": asset, "key": key, "value": value, "now": now.isoformat(),
                "expires_at": expires_at.isoformat() if expires_at else None}
        return self._call("POST", "/state/put", body) is not None

    def get_variable(self, key: str) -> str | None:
        answer = self._call("POST", "/variables/get", {"key": key})
        if answer is None:
            raise NotFound("variables are not readable with this try's token any more")
        return answer["value"]  # type: ignore[no-any-return]

    def put_variable(self, key: str, value: str | None, description: str | None) -> bool:
        answer = self._call("POST", "/variables/put", {"key": key, "value": value, "description": description})
        if answer is None:
            raise NotFound("variables are not writable with this try's token any more")
        return bool(answer["changed"])

    def get_connection(self, conn_id: str) -> Connection | None:
        answer = self._call("POST", "/connections/get", {"conn_id": conn_id})
        if answer is None:
            raise NotFound("connections are not readable with this try's token any more")
        found = answer["connection"]
        return None if found is None else Connection(**found)

    def record_lineage(self, edges: Sequence[LineageEdge]) -> None:
        if edges:
            self._call("POST", "/lineage", {"edges": [to_wire(e) for e in edges]})


def _message(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:500]
    return str(payload.get("detail") or payload.get("message") or payload)
