"""The pipeline operations the CLI uses, over a trackflow server's /api/v1 (remote mode).

Same method names and return types as :class:`trackflow.pipelines.operations.Pipelines`,
so `trackflow --tracking-uri http://host:port dags trigger ...` acts on the server's own state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from trackflow.entities.pipelines import DagRecord, DagRun, ImportErrorRecord, TaskInstance, TaskTry
from trackflow.errors import InvalidInput
from trackflow.pipelines.operations import RunDetail
from trackflow.store.rest.http import HttpJsonClient


def _q(value: str) -> str:
    return quote(value, safe="")


def _date(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _run(d: dict[str, Any]) -> DagRun:
    return DagRun(
        dag_id=d["dag_id"], run_id=d["run_id"], state=d["state"], run_type=d["run_type"],
        logical_date=_date(d["logical_date"]),  # type: ignore[arg-type]
        data_interval_start=_date(d["data_interval_start"]),  # type: ignore[arg-type]
        data_interval_end=_date(d["data_interval_end"]),  # type: ignore[arg-type]
        run_after=_date(d["run_after"]),  # type: ignore[arg-type]
        conf=d.get("conf") or {}, queued_at=_date(d.get("queued_at")), start_date=_date(d.get("start_date")),
        end_date=_date(d.get("end_date")), tracking_run_id=d.get("tracking_run_id"),
        experiment_id=d.get("experiment_id"), partition_key=d.get("partition_key"),
        partition_date=_date(d.get("partition_date")),
    )


def _task_instance(dag_id: str, run_id: str, d: dict[str, Any]) -> TaskInstance:
    return TaskInstance(
        dag_id=dag_id, run_id=run_id, task_id=d["task_id"], map_index=d["map_index"], state=d["state"],
        try_number=d["try_number"], max_tries=d["max_tries"], priority_weight=d.get("priority_weight", 1),
        pool=d.get("pool", "default_pool"), operator=d.get("operator", ""), queued_at=_date(d.get("queued_at")),
        start_date=_date(d.get("start_date")), end_date=_date(d.get("end_date")),
        next_retry_at=_date(d.get("next_retry_at")), hostname=d.get("hostname"), pid=d.get("pid"),
        tracking_run_id=d.get("tracking_run_id"), note=d.get("note"), rendered_map_index=d.get("rendered_map_index"),
    )


class RemotePipelines:
    def __init__(self, base_url: str, token: str = "") -> None:
        self.http = HttpJsonClient(base_url.rstrip("/") + "/api/v1", token=token)

    def sync_folder(self, folder: str | None = None) -> None:
        if folder is not None:
            raise InvalidInput("--dags-folder cannot be used with a server URL: the server parses its own DAGs folder")

    def get_dag(self, dag_id: str) -> DagRecord:
        d = self.http.call("GET", f"/dags/{_q(dag_id)}")
        spec = {k: d.get(k) for k in ("schedule", "timezone", "start_date", "end_date", "catchup", "tags")}
        spec["tasks"] = d.get("tasks", [])
        return DagRecord(d["dag_id"], d["fileloc"], d["is_paused"], d["is_active"], _date(d.get("last_parsed")), spec)

    def list_dags(self) -> list[DagRecord]:
        return [self.get_dag(d["dag_id"]) for d in self.http.call("GET", "/dags")["dags"]]

    def import_errors(self) -> list[ImportErrorRecord]:
        errors = self.http.call("GET", "/importErrors")["import_errors"]
        return [ImportErrorRecord(e["fileloc"], e["stacktrace"], _date(e["timestamp"])) for e in errors]  # type: ignore[arg-type]

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.http.call("PATCH", f"/dags/{_q(dag_id)}", {"is_paused": paused})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: datetime | None = None,
                run_id: str | None = None, partition_key: str | None = None) -> DagRun:
        body = {"conf": conf or {}, "logical_date": logical_date.isoformat() if logical_date else None,
                "run_id": run_id, "partition_key": partition_key}
        return _run(self.http.call("POST", f"/dags/{_q(dag_id)}/dagRuns", body))

    def list_runs(self, dag_id: str, state: str | None = None, limit: int = 100) -> list[DagRun]:
        params: dict[str, Any] = {"limit": limit, **({"state": state} if state else {})}
        return [_run(r) for r in self.http.call("GET", f"/dags/{_q(dag_id)}/dagRuns", params=params)["dag_runs"]]

    def run_detail(self, dag_id: str, run_id: str) -> RunDetail:
        d = self.http.call("GET", f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")
        return RunDetail(_run(d), [_task_instance(dag_id, run_id, t) for t in d["task_instances"]])

    def clear(self, dag_id: str, run_id: str, task_ids: list[str], include_downstream: bool = False,
              include_upstream: bool = False) -> list[str]:
        body = {"task_ids": task_ids, "include_downstream": include_downstream, "include_upstream": include_upstream}
        return list(self.http.call("POST", f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/clear", body)["cleared"])

    def mark(self, dag_id: str, run_id: str, task_ids: list[str], state: str,
             include_downstream: bool = False, include_upstream: bool = False) -> list[str]:
        marked: list[str] = []
        for task_id in task_ids:
            path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
            body = {"state": state, "include_downstream": include_downstream, "include_upstream": include_upstream}
            marked += self.http.call("PATCH", path, body)["marked"]
        return marked

    def read_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1,
                 try_number: int | None = None) -> tuple[TaskTry, str]:
        params: dict[str, Any] = {"map_index": map_index, **({"try_number": try_number} if try_number else {})}
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/logs"
        d = self.http.call("GET", path, params=params)
        chosen = TaskTry(dag_id, run_id, task_id, map_index, d["try_number"], d["state"], None, None, None, None,
                         None, None, None)
        return chosen, d["content"]
