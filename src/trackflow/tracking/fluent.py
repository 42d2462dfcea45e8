"""The fluent API: module-level functions that act on "the active run".

The active-run stack and chosen experiment are process state on purpose: that is what
``trackflow.log_metric(...)`` without a run argument means (as in MLflow).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from trackflow.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.tracking.backend import set_default_tracking_uri
from trackflow.tracking.client import Client, _number, now_ms
from trackflow.tracking.git_context import git_tags

if TYPE_CHECKING:
    import pandas as pd

    from trackflow.tracking.system_metrics import SystemMetricsMonitor

DEFAULT_EXPERIMENT_ID = "0"
PARENT_RUN_TAG = "mlflow.parentRunId"

_lock = threading.RLock()
_state: dict[str, Any] = {"tracking_uri": None, "experiment_id": None, "client": None, "atexit": False}
_active_runs: list[ActiveRun] = []


class ActiveRun:
    """The run a ``with start_run()`` block logs to. Ends FINISHED, or FAILED if the block raises."""

    def __init__(self, run: Run, owns_run: bool = True) -> None:
        self._run = run
        self.owns_run = owns_run
        self.monitor: SystemMetricsMonitor | None = None

    @property
    def info(self):  # noqa: ANN201 - RunInfo, as in MLflow
        return self._run.info

    @property
    def data(self):  # noqa: ANN201
        return get_client().get_run(self._run.info.run_id).data

    @property
    def run(self) -> Run:
        """The run as it was when it became active (its tags then), without a round trip."""
        return self._run

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        end_run(status)


def set_tracking_uri(uri: str) -> None:
    with _lock:
        _state["tracking_uri"] = uri
        _state["client"] = None
        _state["experiment_id"] = None  # an experiment id means nothing in another store
        set_default_tracking_uri(uri)


def get_tracking_uri() -> str:
    return get_client().tracking_uri


def get_client() -> Client:
    with _lock:
        if _state["client"] is None:
            _state["client"] = Client(_state["tracking_uri"])
        return _state["client"]


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None) -> Experiment:
    """Make an experiment active, creating it by name if needed."""
    client = get_client()
    if experiment_id is not None:
        experiment = client.get_experiment(experiment_id)
    elif experiment_name:
        experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[assignment]
        if experiment is None:
            try:
                experiment = client.get_experiment(client.create_experiment(experiment_name))
            except AlreadyExists:  # another process created it since: get-or-create
                experiment = client.get_experiment_by_name(experiment_name)  # type: ignore[assignment]
                if experiment is None:
                    raise
    else:
        raise InvalidInput("set_experiment needs an experiment_name or an experiment_id")
    if experiment.lifecycle_stage.value != "active":
        raise InvalidInput(f"experiment {experiment.name!r} is deleted: restore it first")
    _state["experiment_id"] = experiment.experiment_id
    return experiment


def _experiment_id() -> str:
    return _state["experiment_id"] or DEFAULT_EXPERIMENT_ID


def current_experiment_id() -> str:
    """The active run's experiment, else the one set_experiment chose, else the default."""
    return _active_runs[-1].info.experiment_id if _active_runs else _experiment_id()


def start_run(
    run_id: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    nested: bool = False,
    tags: dict[str, Any] | None = None,
    parent_run_id: str | None = None,
    description: str | None = None,
    log_system_metrics: bool | None = None,
) -> ActiveRun:
    """Start a new run (or resume ``run_id``) and make it active."""
    client = get_client()
    with _lock:
        if _active_runs and not nested and parent_run_id is None:
            raise InvalidInput(
                f"run {_active_runs[-1].info.run_id} is already active: end it first, or pass nested=True"
            )
        if run_id is not None:
            run = client.get_run(run_id)
            if run.info.lifecycle_stage.value != "active":
                raise InvalidInput(f"run {run_id!r} is deleted and cannot be resumed")
            if run.info.status != RunStatus.RUNNING:
                client.update_run(run_id, RunStatus.RUNNING)
            run = client.get_run(run_id)
        else:
            run_tags = {
                "mlflow.source.name": os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "<console>",
                "mlflow.source.type": "LOCAL",
                **git_tags(),
                **{k: str(v) for k, v in (tags or {}).items()},
            }
            parent = parent_run_id or (_active_runs[-1].info.run_id if _active_runs else None)
            if parent:
                run_tags[PARENT_RUN_TAG] = parent
            if description:
                run_tags["mlflow.note.content"] = description
            run = client.create_run(experiment_id or _experiment_id(), tags=run_tags, run_name=run_name)
        active = ActiveRun(run)
        _active_runs.append(active)
        if not _state["atexit"]:
            atexit.register(_end_all_runs)
            _state["atexit"] = True
    if log_system_metrics:
        from trackflow.tracking.system_metrics import SystemMetricsMonitor

        active.monitor = SystemMetricsMonitor(client, run.info.run_id)
        active.monitor.start()
    return active


def attach_run(run: Run) -> ActiveRun:
    """Make ``run`` the active run, as ``start_run(run_id=run.info.run_id)`` does, for a run
    that was just created (so it is active and RUNNING): nothing is read back."""
    with _lock:
        if _active_runs:
            raise InvalidInput(
                f"run {_active_runs[-1].info.run_id} is already active: end it first, or pass nested=True"
            )
        active = ActiveRun(run)
        _active_runs.append(active)
        if not _state["atexit"]:
            atexit.register(_end_all_runs)
            _state["atexit"] = True
    return active


def end_run(status: RunStatus | str = RunStatus.FINISHED) -> None:
    with _lock:
        if not _active_runs:
            return
        active = _active_runs.pop()
    if active.monitor is not None:
        active.monitor.stop()
    get_client().set_terminated(active.info.run_id, RunStatus(status))


def _end_all_runs() -> None:
    while _active_runs:
        end_run(RunStatus.FINISHED)


def active_run() -> ActiveRun | None:
    return _active_runs[-1] if _active_runs else None


def last_active_run_id() -> str | None:
    return active_run().info.run_id if _active_runs else None  # type: ignore[union-attr]


def _run_id() -> str:
    """The active run's id, starting a run the way MLflow does when none is active."""
    if not _active_runs:
        start_run()
    return _active_runs[-1].info.run_id


def log_param(key: str, value: Any) -> Any:
    return get_client().log_param(_run_id(), key, value)


def log_params(params: dict[str, Any]) -> None:
    get_client().log_batch(_run_id(), params=[Param(k, str(v)) for k, v in params.items()])


def log_metric(key: str, value: float, step: int | None = None, timestamp: int | None = None) -> None:
    get_client().log_metric(_run_id(), key, value, timestamp or now_ms(), step)


def log_metrics(metrics: dict[str, float], step: int | None = None, timestamp: int | None = None) -> None:
    ts = timestamp or now_ms()
    batch = [Metric(k, _number(k, v), ts, step or 0) for k, v in metrics.items()]
    get_client().log_batch(_run_id(), metrics=batch)


def set_tag(key: str, value: Any) -> None:
    get_client().set_tag(_run_id(), key, value)


def set_tags(tags: dict[str, Any]) -> None:
    get_client().log_batch(_run_id(), tags=[RunTag(k, str(v)) for k, v in tags.items()])


def delete_tag(key: str) -> None:
    get_client().delete_tag(_run_id(), key)


def log_input(dataset: Any, context: str | None = None) -> None:
    """Record a dataset input: a trackflow DatasetInput, or a pandas DataFrame (digest computed)."""
    from trackflow.tracking.datasets import as_dataset_input

    get_client().log_inputs(_run_id(), [as_dataset_input(dataset, context)])


def log_artifact(local_path: str, artifact_path: str | None = None) -> None:
    get_client().log_artifact(_run_id(), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None) -> None:
    get_client().log_artifacts(_run_id(), local_dir, artifact_path)


def log_text(text: str, artifact_file: str) -> None:
    get_client().log_text(_run_id(), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str) -> None:
    get_client().log_dict(_run_id(), dictionary, artifact_file)


def log_image(image: Any, artifact_file: str) -> None:
    get_client().log_image(_run_id(), image, artifact_file)


def log_figure(figure: Any, artifact_file: str) -> None:
    get_client().log_figure(_run_id(), figure, artifact_file)


def get_run(run_id: str) -> Run:
    return get_client().get_run(run_id)


def search_runs(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str = "",
    run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
    max_results: int = 100_000,
    order_by: Sequence[str] | None = None,
    output_format: str = "pandas",
    experiment_names: Sequence[str] | None = None,
) -> pd.DataFrame | list[Run]:
    """Runs of the given experiments (default: the active one) as a DataFrame or a list."""
    client = get_client()
    ids = [str(e) for e in experiment_ids or []]
    for name in experiment_names or []:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise NotFound(f"no experiment named {name!r}")
        ids.append(experiment.experiment_id)
    if not ids:
        ids = [_experiment_id()]
    runs: list[Run] = []
    token: str | None = None
    while len(runs) < max_results:
        page = client.search_runs(
            ids, filter_string, run_view_type, min(1000, max_results - len(runs)), order_by, token
        )
        runs.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    if output_format == "list":
        return runs
    if output_format != "pandas":
        raise InvalidInput(f"output_format must be 'pandas' or 'list', got {output_format!r}")
    from trackflow.tracking.frames import runs_to_dataframe

    return runs_to_dataframe(runs)
