"""Log a model into a run's artifacts (``<name>/``), record it on the run, optionally register it."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trackflow.models.format import Model
from trackflow.models.signature import ModelSignature

LOG_MODEL_HISTORY_TAG = "mlflow.log-model.history"
_TAG_LIMIT = 8000  # MLflow's tag value limit; older history entries are dropped past it


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow's ModelInfo fields)."""

    artifact_path: str
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str
    signature: ModelSignature | None
    utc_time_created: str
    saved_input_example_info: dict[str, Any] | None = None
    registered_model_version: int | None = None
    metadata: dict[str, Any] | None = None


def log_model(
    save: Callable[[str, Model], Model],
    artifact_path: str,
    registered_model_name: str | None = None,
    run_id: str | None = None,
) -> ModelInfo:
    """``save(local_dir, manifest)`` writes the model; it is then uploaded to the run.

    Without ``run_id`` the active run is used (one is started if none is active, as MLflow does).
    """
    from trackflow.tracking import fluent

    client = fluent.get_client()
    if run_id is None:
        run_id = fluent._run_id()  # noqa: SLF001 - same rule as every fluent logging call
    mlmodel = Model(run_id=run_id, artifact_path=artifact_path)
    with tempfile.TemporaryDirectory(prefix="trackflow-model-") as tmp:
        local = os.path.join(tmp, "model")
        save(local, mlmodel)
        client.log_artifacts(run_id, local, artifact_path)
    _append_history(client, run_id, mlmodel)
    model_uri = f"runs:/{run_id}/{artifact_path}"
    version = None
    if registered_model_name:
        from trackflow.registry.client import Client

        registry = Client(client.tracking_uri)
        version = int(registry.register_model(model_uri, registered_model_name).version)
    return ModelInfo(
        artifact_path=artifact_path,
        flavors=mlmodel.flavors,
        model_uri=model_uri,
        model_uuid=mlmodel.model_uuid,
        run_id=run_id,
        signature=mlmodel.signature,
        utc_time_created=mlmodel.utc_time_created,
        saved_input_example_info=mlmodel.saved_input_example_info,
        registered_model_version=version,
        metadata=mlmodel.metadata,
    )


def _append_history(client: Any, run_id: str, mlmodel: Model) -> None:
    entry = {
        "run_id": run_id,
        "artifact_path": mlmodel.artifact_path,
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
