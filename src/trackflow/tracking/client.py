"""trackflow.Client: the complete, non-fluent tracking API (MLflow's MlflowClient, same names)."""

from __future__ import annotations

import getpass
import json
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trackflow.artifacts import ArtifactRepository, FileInfo
from trackflow.config import Settings
from trackflow.entities import (
    DatasetInput,
    Experiment,
    Metric,
    PagedList,
    Param,
    Run,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from trackflow.errors import InvalidInput, NotFound
from trackflow.store.trace_base import TraceStore
from trackflow.tracking.backend import resolve_backend
from trackflow.tracking.logged_models import LoggedModelClientMixin


def now_ms() -> int:
    return int(time.time() * 1000)


class Client(LoggedModelClientMixin):
    """Talks to the store behind ``tracking_uri`` (default: the configured one)."""

    def __init__(self, tracking_uri: str | None = None, settings: Settings | None = None) -> None:
        self._backend = resolve_backend(tracking_uri, settings)
        self.store = self._backend.store
        self._traces: TraceStore | None = None

    def trace_store(self) -> TraceStore:
        """The traces of this client's backend (made on first use)."""
        if self._traces is None:
            self._traces = self._backend.trace_store()
        return self._traces

    @property
    def tracking_uri(self) -> str:
        return self._backend.tracking_uri

    @property
    def tracking_token(self) -> str:
        return self._backend.settings.tracking_token

    # Experiments -------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        return self.store.create_experiment(name, artifact_location, tags)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self.store.get_experiment(str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self.store.get_experiment_by_name(name)

    def search_experiments(
        self,
        view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        return self.store.search_experiments(ViewType(view_type), max_results, filter_string, order_by, page_token)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self.store.rename_experiment(str(experiment_id), new_name)

    def delete_experiment(self, experiment_id: str) -> None:
        self.store.delete_experiment(str(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self.store.restore_experiment(str(experiment_id))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self.store.set_experiment_tag(str(experiment_id), key, str(value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self.store.delete_experiment_tag(str(experiment_id), key)

    # Runs --------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        start_time: int | None = None,
        tags: dict[str, Any] | None = None,
        run_name: str | None = None,
        user_id: str | None = None,
    ) -> Run:
        user = user_id if user_id is not None else _current_user()
        # The client records the user as a tag, as MLflow's does; the store (and MLflow's
        # server) keep only the run's user_id.
        tags = {"mlflow.user": user, **(tags or {})} if user else tags
        run_tags = [RunTag(k, str(v)) for k, v in (tags or {}).items()]
        return self.store.create_run(str(experiment_id), user, start_time or now_ms(), run_tags, run_name)

    def get_run(self, run_id: str) -> Run:
        return self.store.get_run(run_id)

    def update_run(self, run_id: str, status: RunStatus | str | None = None, name: str | None = None) -> RunInfo:
        end = now_ms() if status and RunStatus(status).is_terminal else None
        return self.store.update_run_info(run_id, RunStatus(status) if status else None, end, name)

    def set_terminated(self, run_id: str, status: RunStatus | str = "FINISHED", end_time: int | None = None) -> None:
        self.store.update_run_info(run_id, RunStatus(status), end_time or now_ms())

    def delete_run(self, run_id: str) -> None:
        self.store.delete_run(run_id)

    def restore_run(self, run_id: str) -> None:
        self.store.restore_run(run_id)

    def log_metric(
        self, run_id: str, key: str, value: float, timestamp: int | None = None, step: int | None = None
    ) -> None:
        self.store.log_batch(run_id, metrics=[Metric(key, _number(key, value), timestamp or now_ms(), step or 0)])

    def log_param(self, run_id: str, key: str, value: Any) -> Any:
        self.store.log_batch(run_id, params=[Param(key, _stringify(value))])
        return value

    def set_tag(self, run_id: str, key: str, value: Any) -> None:
        self.store.log_batch(run_id, tags=[RunTag(key, _stringify(value))])

    def delete_tag(self, run_id: str, key: str) -> None:
        self.store.delete_tag(run_id, key)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        self.store.log_batch(run_id, list(metrics), list(params), list(tags))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[str] = ()) -> None:
        """Datasets the run consumed and logged models (ids) it used."""
        self.store.log_inputs(run_id, list(datasets), list(models))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        """Every logged value of ``key``, ordered by step and timestamp (all pages)."""
        return self.store.get_metric_history(run_id, key).items

    def search_runs(
        self,
        experiment_ids: Sequence[str] | str,
        filter_string: str = "",
        run_view_type: ViewType | str = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        ids = [experiment_ids] if isinstance(experiment_ids, str) else [str(e) for e in experiment_ids]
        return self.store.search_runs(ids, filter_string, ViewType(run_view_type), max_results, order_by, page_token)

    # Artifacts ---------------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> ArtifactRepository:
        return self.artifact_repository_at(self.get_run(run_id).info.artifact_uri)

    def artifact_repository_at(self, artifact_uri: str) -> ArtifactRepository:
        """The repository for any artifact URI, reached the way this client reaches artifacts."""
        return self._backend.artifact_repository(artifact_uri)

    def log_artifact(self, run_id: str, local_path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        path = Path(local_path)
        if not path.exists():
            raise NotFound(f"no such file or directory: {str(path)!r}")
        repo = self.artifact_repository(run_id)
        if path.is_dir():
            repo.log_artifacts(str(path), "/".join(p for p in (artifact_path, path.name) if p))
        else:
            repo.log_artifact(str(path), artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        if not Path(local_dir).is_dir():
            raise NotFound(f"no such directory: {str(local_dir)!r}")
        self.artifact_repository(run_id).log_artifacts(str(local_dir), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self.artifact_repository(run_id).put_bytes(text.encode("utf-8"), artifact_file)

    def log_dict(self, run_id: str, dictionary: dict[str, Any], artifact_file: str) -> None:
        if artifact_file.endswith((".yaml", ".yml")):
            import yaml

            text = yaml.safe_dump(dictionary, sort_keys=False)
        else:
            text = json.dumps(dictionary, indent=2, default=str)
        self.log_text(run_id, text, artifact_file)

    def log_image(self, run_id: str, image: Any, artifact_file: str) -> None:
        """Log a PIL image or a numpy array (HxW, HxWx3 or HxWx4) as an image file."""
        from PIL import Image  # Pillow comes with matplotlib; only needed here

        if not isinstance(image, Image.Image):
            import numpy as np

            array = np.asarray(image)
            if array.dtype.kind == "f":
                array = (np.clip(array, 0, 1) * 255).astype("uint8")
            if array.ndim not in (2, 3):
                raise InvalidInput(f"an image array must be 2- or 3-dimensional, got shape {array.shape}")
            image = Image.fromarray(array.astype("uint8"))
        self._log_via_file(run_id, artifact_file, lambda p: image.save(p))

    def log_figure(self, run_id: str, figure: Any, artifact_file: str) -> None:
        """Log a matplotlib figure (png/svg/pdf by extension) or a plotly figure (html/png)."""
        if hasattr(figure, "savefig"):
            self._log_via_file(run_id, artifact_file, lambda p: figure.savefig(p))
        elif hasattr(figure, "write_html") and artifact_file.endswith(".html"):
            self._log_via_file(run_id, artifact_file, lambda p: figure.write_html(p))
        else:
            raise InvalidInput(f"cannot log a figure of type {type(figure).__name__}: use matplotlib or plotly")

    def _log_via_file(self, run_id: str, artifact_file: str, write: Any) -> None:
        directory, _, name = artifact_file.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, name)
            write(target)
            self.artifact_repository(run_id).log_artifact(target, directory or None)

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        return self.artifact_repository(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        destination = dst_path or tempfile.mkdtemp(prefix="trackflow-")
        return self.artifact_repository(run_id).download_artifacts(path, destination)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"metric {key!r} value must be a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"metric {key!r} value must be a number, got {value!r}") from None


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
