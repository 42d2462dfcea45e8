"""JSON shapes of tracking entities on /api/v1, both directions.

The server renders with the ``*_to_json`` functions and the REST store parses with the
``*_from_json`` ones, so the two sides cannot drift apart. Non-finite metric values travel
as the strings "NaN", "Infinity" and "-Infinity" (JSON has no literal for them).
"""

from __future__ import annotations

import math
from typing import Any

from trackflow.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    ModelOutput,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
)
from trackflow.errors import InvalidInput


def float_to_json(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def float_from_json(value: Any, what: str = "value") -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"{what} must be a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in ("NaN", "nan", "Infinity", "inf", "-Infinity", "-inf"):
        return float(value.replace("Infinity", "inf"))
    raise InvalidInput(f"{what} must be a number, got {value!r}")


def experiment_to_json(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.value,
        "tags": e.tags,
        "creation_time": e.creation_time,
        "last_update_time": e.last_update_time,
    }


def experiment_from_json(d: dict[str, Any]) -> Experiment:
    return Experiment(
        experiment_id=d["experiment_id"],
        name=d["name"],
        artifact_location=d["artifact_location"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
        tags=dict(d.get("tags") or {}),
        creation_time=d.get("creation_time"),
        last_update_time=d.get("last_update_time"),
    )


_MODEL_FIELDS = ("model_id", "dataset_name", "dataset_digest", "run_id")  # MLflow 3, set only on some metrics


def metric_to_json(m: Metric) -> dict[str, Any]:
    out = {"key": m.key, "value": float_to_json(m.value), "timestamp": m.timestamp, "step": m.step}
    if m.model_id or m.run_id:
        out.update({name: getattr(m, name) for name in _MODEL_FIELDS if getattr(m, name)})
    return out


def _model_fields(d: dict[str, Any]) -> dict[str, str]:
    fields = {name: d[name] for name in _MODEL_FIELDS if d.get(name)}
    for name, value in fields.items():
        if not isinstance(value, str):
            raise InvalidInput(f"metric {d.get('key')!r} {name} must be a string, got {value!r}"[:300])
    return fields


def metric_from_json(d: dict[str, Any]) -> Metric:
    value = float_from_json(d["value"], f"metric {d['key']!r}")
    return Metric(d["key"], value, d["timestamp"], d.get("step", 0), **_model_fields(d))


def run_info_to_json(i: RunInfo) -> dict[str, Any]:
    return {
        "run_id": i.run_id,
        "experiment_id": i.experiment_id,
        "run_name": i.run_name,
        "user_id": i.user_id,
        "status": i.status.value,
        "start_time": i.start_time,
        "end_time": i.end_time,
        "artifact_uri": i.artifact_uri,
        "lifecycle_stage": i.lifecycle_stage.value,
    }


def run_info_from_json(d: dict[str, Any]) -> RunInfo:
    return RunInfo(
        run_id=d["run_id"],
        experiment_id=d["experiment_id"],
        run_name=d["run_name"],
        user_id=d["user_id"],
        status=RunStatus(d["status"]),
        start_time=d.get("start_time"),
        end_time=d.get("end_time"),
        artifact_uri=d["artifact_uri"],
        lifecycle_stage=LifecycleStage(d["lifecycle_stage"]),
    )


def dataset_to_json(ds: DatasetInput) -> dict[str, Any]:
    return {
        "name": ds.name,
        "digest": ds.digest,
        "source_type": ds.source_type,
        "source": ds.source,
        "schema": ds.schema,
        "profile": ds.profile,
        "tags": ds.tags,
    }


def dataset_from_json(d: dict[str, Any]) -> DatasetInput:
    return DatasetInput(
        name=d["name"],
        digest=d["digest"],
        source_type=d.get("source_type", ""),
        source=d.get("source", ""),
        schema=d.get("schema"),
        profile=d.get("profile"),
        tags=dict(d.get("tags") or {}),
    )


def run_to_json(r: Run) -> dict[str, Any]:
    return {
        "info": run_info_to_json(r.info),
        "data": {
            "metrics": [metric_to_json(m) for m in r.data.latest_metrics.values()],
            "params": r.data.params,
            "tags": r.data.tags,
        },
        "inputs": {"datasets": [dataset_to_json(d) for d in r.inputs.datasets], "model_ids": r.inputs.model_ids},
        "outputs": {"models": [{"model_id": m.model_id, "step": m.step} for m in r.outputs.models]},
    }


def run_from_json(d: dict[str, Any]) -> Run:
    latest = {m.key: m for m in (metric_from_json(x) for x in d["data"]["metrics"])}
    data = RunData(
        metrics={k: m.value for k, m in latest.items()},
        params=dict(d["data"]["params"]),
        tags=dict(d["data"]["tags"]),
        latest_metrics=latest,
    )
    raw_inputs = d.get("inputs", {})
    inputs = RunInputs([dataset_from_json(x) for x in raw_inputs.get("datasets", [])], raw_inputs.get("model_ids", []))
    outputs = RunOutputs([ModelOutput(m["model_id"], m.get("step", 0)) for m in d.get("outputs", {}).get("models", [])])
    return Run(info=run_info_from_json(d["info"]), data=data, inputs=inputs, outputs=outputs)


def batch_to_json(metrics: list[Metric], params: list[Param], tags: list[RunTag]) -> dict[str, Any]:
    return {
        "metrics": [metric_to_json(m) for m in metrics],
        "params": [{"key": p.key, "value": p.value} for p in params],
        "tags": [{"key": t.key, "value": t.value} for t in tags],
    }


def _pairs(items: Any, what: str) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        raise InvalidInput(f"'{what}' must be a list, got {items!r}"[:300])
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or not isinstance(item.get("value"), str):
            raise InvalidInput(f"each of '{what}' must be an object with string key and value, got {item!r}"[:300])
        out.append((item["key"], item["value"]))
    return out


def batch_from_json(payload: Any) -> tuple[list[Metric], list[Param], list[RunTag]]:
    """The inverse of batch_to_json, with InvalidInput naming whatever is malformed."""
    if not isinstance(payload, dict):
        raise InvalidInput("the request body must be a JSON object with metrics, params and tags")
    unknown = set(payload) - {"metrics", "params", "tags"}
    if unknown:
        raise InvalidInput(f"unknown field(s) in batch: {sorted(unknown)}")
    raw_metrics = payload.get("metrics", [])
    if not isinstance(raw_metrics, list):
        raise InvalidInput(f"'metrics' must be a list, got {raw_metrics!r}"[:300])
    metrics = []
    for item in raw_metrics:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str) or "value" not in item:
            raise InvalidInput(f"each metric must be an object with key, value and timestamp, got {item!r}"[:300])
        timestamp: Any = item.get("timestamp")
        step: Any = item.get("step", 0)
        for name, number in (("timestamp", timestamp), ("step", step)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise InvalidInput(f"metric {item['key']!r} {name} must be an integer, got {number!r}")
        value = float_from_json(item["value"], f"metric {item['key']!r}")
        metrics.append(Metric(item["key"], value, timestamp, step, **_model_fields(item)))
    params = [Param(k, v) for k, v in _pairs(payload.get("params", []), "params")]
    tags = [RunTag(k, v) for k, v in _pairs(payload.get("tags", []), "tags")]
    return metrics, params, tags
