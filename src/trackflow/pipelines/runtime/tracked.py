"""The tracked run of one task try: a child of the DAG run's run, active while the task runs."""

from __future__ import annotations

from typing import Any

from trackflow.artifacts import ArtifactRepository
from trackflow.config import Settings
from trackflow.entities import Run
from trackflow.entities.pipelines import DagRun
from trackflow.pipelines.executors.base import TaskWorkload
from trackflow.pipelines.state import TIState
from trackflow.tracking import fluent
from trackflow.tracking.client import Client

PARENT_RUN_TAG = "mlflow.parentRunId"


def try_run_name(task_id: str, map_index: int, try_number: int) -> str:
    suffix = "" if map_index < 0 else f"[{map_index}]"
    return f"{task_id}{suffix} try {try_number}"


class TrackedTry:
    """Creates the try's run and makes it the active fluent run of this process, so
    ``trackflow.log_metric(...)`` inside the task logs to it without ``start_run``."""

    def __init__(self, client: Client, run: Run) -> None:
        self.client = client
        self.run = run
        self.run_id = run.info.run_id
        self.active = False

    @classmethod
    def create(cls, settings: Settings, run: DagRun, task_id: str, map_index: int, try_number: int) -> TrackedTry:
        client = Client(settings.resolved_tracking_uri, settings)
        tags: dict[str, Any] = {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "task_id": task_id,
            "try_number": try_number,
            "map_index": map_index,
            "trackflow.kind": "task_try",
        }
        if run.tracking_run_id:
            tags[PARENT_RUN_TAG] = run.tracking_run_id
        created = client.create_run(run.experiment_id or "0", tags=tags,
                                    run_name=try_run_name(task_id, map_index, try_number))
        return cls(client, created)

    @classmethod
    def for_workload(cls, settings: Settings, run: DagRun, workload: TaskWorkload) -> TrackedTry:
        """The workload's tracked run: a new one for a new try; the same one when the try goes
        on after deferring or between a sensor's pokes."""
        if workload.resume_tracking_run_id:
            client = Client(settings.resolved_tracking_uri, settings)
            return cls(client, client.get_run(workload.resume_tracking_run_id))
        return cls.create(settings, run, workload.task_id, workload.map_index, workload.try_number)

    def activate(self) -> None:
        fluent.set_tracking_uri(self.client.tracking_uri)
        fluent.attach_run(self.run)  # start_run(run_id=...) without reading back the run just created
        self.active = True

    def finish(self, state: str) -> None:
        status = "FINISHED" if state in (TIState.SUCCESS, TIState.SKIPPED) else "FAILED"
        if state != TIState.SUCCESS:
            self.client.set_tag(self.run_id, "trackflow.task_state", state)
        if self.active:
            while fluent.active_run() is not None:  # the task may have left nested runs open
                fluent.end_run(status)
            self.active = False
        else:
            self.client.set_terminated(self.run_id, status)

    def _repository(self, run_id: str) -> ArtifactRepository:
        if run_id == self.run_id:  # this try's run: its artifact URI is known already
            return self.client.artifact_repository_at(self.run.info.artifact_uri)
        return self.client.artifact_repository(run_id)

    def write_artifact(self, run_id: str, path: str, data: bytes) -> None:
        self._repository(run_id).put_bytes(data, path)

    def read_artifact(self, run_id: str, path: str) -> bytes:
        return b"".join(self._repository(run_id).open_read(path))

    def upload_log(self, local_path: str) -> str:
        self._repository(self.run_id).log_artifact(local_path, "logs")
        return f"{self.run_id}:logs/{local_path.rsplit('/', 1)[-1]}"
