"""Log a model as an MLflow 3 logged model: a LoggedModel record (``m-<32 hex>``) produced by
the run, its files at the model's own artifact location, optionally registered.

``ModelInfo.model_uri`` is ``models:/<model_id>``; ``runs:/<run_id>/<name>`` still loads the
model (trackflow.models.uri looks the run's logged model up by name, as MLflow 3 does).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackflow.entities import LoggedModelStatus, Metric, ModelOutput
from trackflow.models.format import Model
from trackflow.models.signature import ModelSignature

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
_TAG_LIMIT = 8000  # MLflow's tag value limit; older history entries are dropped past it


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow 3's ModelInfo fields)."""

    artifact_path: str  # the logged model's artifact location, as in MLflow 3
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str
    signature: ModelSignature | None
    utc_time_created: str
    saved_input_example_info: dict[str, Any] | None = None
    registered_model_version: int | None = None
    metadata: dict[str, Any] | None = None
    model_id: str | None = None
    name: str | None = None


def log_model(
    save: Callable[[str, Model], Model],
    artifact_path: str,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
) -> ModelInfo:
    """``save(local_dir, manifest)`` writes the model; it becomes logged model ``artifact_path``
    (its name) of the run, READY once its files are uploaded (FAILED if that fails).

    Without ``run_id`` the active run is used (one is started if none is active, as MLflow does).
    The model gets the run's params and its metrics at ``step``, as in MLflow 3.
    """
    from trackflow.tracking import fluent

    client = fluent.get_client()
    if run_id is None:
        run_id = fluent._run_id()  # noqa: SLF001 - same rule as every fluent logging call
    run = client.get_run(run_id)
    model = client.create_logged_model(
        run.info.experiment_id,
        name=artifact_path,
        source_run_id=run_id,
        tags=tags,
        params={**(params or {}), **run.data.params},
        model_type=model_type,
    )
    client.log_outputs(run_id, [ModelOutput(model.model_id, step)])
    _link_run_metrics(client, run_id, model.model_id, step, list(run.data.metrics))
    mlmodel = Model(run_id=run_id, artifact_path=model.artifact_location, model_uuid=model.model_id)
    mlmodel.model_id = model.model_id
    try:
        with tempfile.TemporaryDirectory(prefix="trackflow-model-") as tmp:
            local = os.path.join(tmp, "model")
            save(local, mlmodel)
            client.log_model_artifacts(model.model_id, local)
    except BaseException:
        client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
        raise
    client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    _append_history(client, run_id, mlmodel, artifact_path)
    model_uri = model.model_uri
    version = None
    if registered_model_name:
        from trackflow.registry.client import Client

        registry = Client(client.tracking_uri)
        version = int(registry.register_model(model_uri, registered_model_name).version)
    return ModelInfo(
        artifact_path=model.artifact_location,
        flavors=mlmodel.flavors,
        model_uri=model_uri,
        model_uuid=mlmodel.model_uuid,
        run_id=run_id,
        signature=mlmodel.signature,
        utc_time_created=mlmodel.utc_time_created,
        saved_input_example_info=mlmodel.saved_input_example_info,
        registered_model_version=version,
        metadata=mlmodel.metadata,
        model_id=model.model_id,
        name=artifact_path,
    )


def _link_run_metrics(client: Any, run_id: str, model_id: str, step: int, keys: list[str]) -> None:
    """Record the run's metric points at ``step`` on the model too (MLflow 3's rule)."""
    points = [
        Metric(m.key, m.value, m.timestamp, m.step, model_id=model_id)
        for key in keys
        for m in client.get_metric_history(run_id, key)
        if m.step == step
    ]
    for start in range(0, len(points), 1000):
        client.log_batch(run_id, metrics=points[start : start + 1000])


def _append_history(client: Any, run_id: str, mlmodel: Model, name: str) -> None:
    """trackflow keeps MLflow 2's run tag listing the models logged into the run, now with their ids."""
    entry = {
        "run_id": run_id,
        "artifact_path": name,
        "model_id": mlmodel.model_id,
        "utc_time_created": mlmodel.utc_time_created,
        "model_uuid": mlmodel.model_uuid,
        "flavors": mlmodel.flavors,
    }
    raw = client.get_run(run_id).data.tags.get(LOG_MODEL_HISTORY_TAG)
    try:
        history = json.loads(raw) if raw else []
    except json.JSONDecodeError:
        history = []
    history.append(entry)
    value = json.dumps(history)
    while len(value) > _TAG_LIMIT and len(history) > 1:
        history.pop(0)
        value = json.dumps(history)
    client.set_tag(run_id, LOG_MODEL_HISTORY_TAG, value)
