"""JSON shapes of logged models on /api/v1, both directions (server renders, REST store parses)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from trackflow.entities import DatasetFilter, LifecycleStage, LoggedModel, LoggedModelOrder, LoggedModelStatus
from trackflow.store.rest.codec import metric_from_json, metric_to_json


def logged_model_to_json(m: LoggedModel) -> dict[str, Any]:
    return {
        "model_id": m.model_id,
        "experiment_id": m.experiment_id,
        "name": m.name,
        "artifact_location": m.artifact_location,
        "creation_timestamp": m.creation_timestamp,
        "last_updated_timestamp": m.last_updated_timestamp,
        "status": m.status.value,
        "lifecycle_stage": m.lifecycle_stage.value,
        "model_type": m.model_type,
        "source_run_id": m.source_run_id,
        "status_message": m.status_message,
        "tags": m.tags,
        "params": m.params,
        "metrics": [metric_to_json(x) for x in m.metrics],
    }


def logged_model_from_json(d: dict[str, Any]) -> LoggedModel:
    return LoggedModel(
        model_id=d["model_id"],
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=d["artifact_location"],
        creation_timestamp=d["creation_timestamp"],
        last_updated_timestamp=d["last_updated_timestamp"],
        status=LoggedModelStatus(d["status"]),
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        model_type=d.get("model_type"),
        source_run_id=d.get("source_run_id"),
        status_message=d.get("status_message"),
        tags=dict(d.get("tags") or {}),
        params=dict(d.get("params") or {}),
        metrics=[metric_from_json(x) for x in d.get("metrics") or []],
    )


def dataset_filter_to_json(f: DatasetFilter) -> dict[str, Any]:
    return asdict(f)


def order_to_json(o: LoggedModelOrder) -> dict[str, Any]:
    return asdict(o)
