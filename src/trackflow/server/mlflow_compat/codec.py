"""Entities in MLflow's JSON shapes, and tolerant readers for what MLflow clients send."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import Request

from trackflow.entities import Experiment, Metric, Run, RunInfo
from trackflow.errors import InvalidInput
from trackflow.store.rest.codec import float_to_json

# MLflow 3 tags experiments with the workspace they belong to; trackflow has one, MLflow's default.
DEFAULT_WORKSPACE = "default"


async def read_payload(request: Request) -> dict[str, Any]:
    """Query parameters merged with the JSON body (MLflow accepts both for most calls)."""
    payload: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        payload[key] = values if len(values) > 1 or key in ("experiment_ids", "order_by") else values[0]
    raw = await request.body()
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            try:  # Python's json writes NaN/Infinity literals that strict parsers refuse
                body = json.loads(raw)
            except ValueError as exc:
                raise InvalidInput(f"malformed JSON body: {exc}") from None
        if not isinstance(body, dict):
            raise InvalidInput("the request body must be a JSON object")
        payload.update(body)
    return payload


def required(payload: dict[str, Any], name: str) -> Any:
    value = payload.get(name)
    if value is None or value == "":
        raise InvalidInput(f"missing value for required parameter '{name}'")
    return value


def as_int(value: Any, name: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise InvalidInput(f"parameter '{name}' must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InvalidInput(f"parameter '{name}' must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(f"parameter '{name}' must be an integer, got {value!r}") from None
    if not -(2**63) <= number < 2**63:  # protobuf's int64, as MLflow's parser
        raise InvalidInput(f"parameter '{name}' is out of the 64-bit integer range: {value!r}")
    return number


def as_str(value: Any, name: str) -> str:
    """A string field: MLflow's protobuf parsing refuses any other JSON type (a number included)."""
    if not isinstance(value, str):
        raise InvalidInput(f"parameter '{name}' must be a string, got {value!r}")
    return value


def as_bool(value: Any, name: str) -> bool:
    """A boolean field: JSON true/false, or "true"/"false" in a query string; absent is false."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidInput(f"parameter '{name}' must be true or false, got {value!r}")


def as_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise InvalidInput(f"parameter '{name}' must be a number, got {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace("Infinity", "inf"))
        except ValueError:
            pass
    raise InvalidInput(f"parameter '{name}' must be a number, got {value!r}")


def as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"parameter '{name}' must be a list, got {value!r}")
    return value


def key_values(value: Any, name: str) -> list[tuple[str, str]]:
    pairs = []
    for item in as_list(value, name):
        if not isinstance(item, dict):
            raise InvalidInput(f"each entry of '{name}' must be an object with key and value, got {item!r}")
        key = required(item, "key")
        pairs.append((as_str(key, f"{name}.key"), as_str(item.get("value", ""), f"{name}.value")))
    return pairs


def metric_json(m: Metric) -> dict[str, Any]:
    return {"key": m.key, "value": float_to_json(m.value), "timestamp": m.timestamp, "step": m.step}


def experiment_json(e: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": e.experiment_id,
        "name": e.name,
        "artifact_location": e.artifact_location,
        "lifecycle_stage": e.lifecycle_stage.value,
        "last_update_time": e.last_update_time,
        "creation_time": e.creation_time,
        "tags": [{"key": k, "value": v} for k, v in e.tags.items()],
        "workspace": DEFAULT_WORKSPACE,
    }


def run_info_json(i: RunInfo) -> dict[str, Any]:
    out = {
        "run_id": i.run_id,
        "run_uuid": i.run_id,
        "run_name": i.run_name,
        "experiment_id": i.experiment_id,
        "user_id": i.user_id,
        "status": i.status.value,
        "start_time": i.start_time,
        "artifact_uri": i.artifact_uri,
        "lifecycle_stage": i.lifecycle_stage.value,
    }
    if i.end_time is not None:
        out["end_time"] = i.end_time
    return out


def run_json(r: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "info": run_info_json(r.info),
        "data": {
            "metrics": [metric_json(m) for m in r.data.latest_metrics.values()],
            "params": [{"key": k, "value": v} for k, v in r.data.params.items()],
            "tags": [{"key": k, "value": v} for k, v in r.data.tags.items()],
        },
        "inputs": {
            "dataset_inputs": [
                {
                    "tags": [{"key": k, "value": v} for k, v in d.tags.items()],
                    "dataset": {
                        k: v
                        for k, v in {
                            "name": d.name,
                            "digest": d.digest,
                            "source_type": d.source_type,
                            "source": d.source,
                            "schema": d.schema,
                            "profile": d.profile,
                        }.items()
                        if v is not None
                    },
                }
                for d in r.inputs.datasets
            ]
        },
    }
    # MLflow 3: logged models the run used and produced (left out when there are none).
    if r.inputs.model_ids:
        out["inputs"]["model_inputs"] = [{"model_id": m} for m in r.inputs.model_ids]
    if r.outputs.models:
        out["outputs"] = {"model_outputs": [{"model_id": m.model_id, "step": m.step} for m in r.outputs.models]}
    return out
