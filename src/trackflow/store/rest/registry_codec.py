"""Registry entities <-> trackflow's /api/v1 JSON (shared by the REST store and the server)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from trackflow.entities.inference import FeatureSummary, InferenceRecord, WindowSummary
from trackflow.entities.registry import (
    ModelVersion,
    ModelVersionLineage,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventType,
)


def version_to_json(v: ModelVersion) -> dict[str, Any]:
    out = asdict(v)
    out["status"] = v.status.value
    return out


def version_from_json(d: dict[str, Any]) -> ModelVersion:
    data = dict(d)
    data["status"] = ModelVersionStatus(data.get("status", "READY"))
    data["version"] = str(data["version"])
    return ModelVersion(**data)


def model_to_json(m: RegisteredModel) -> dict[str, Any]:
    out = asdict(m)
    out["latest_versions"] = [version_to_json(v) for v in m.latest_versions]
    return out


def model_from_json(d: dict[str, Any]) -> RegisteredModel:
    data = dict(d)
    data["latest_versions"] = [version_from_json(v) for v in data.get("latest_versions") or []]
    return RegisteredModel(**data)


def event_to_json(e: RegistryEvent) -> dict[str, Any]:
    out = asdict(e)
    out["event_type"] = e.event_type.value
    return out


def event_from_json(d: dict[str, Any]) -> RegistryEvent:
    data = dict(d)
    data["event_type"] = RegistryEventType(data["event_type"])
    return RegistryEvent(**data)


def lineage_to_json(lineage: ModelVersionLineage) -> dict[str, Any]:
    return asdict(lineage)


def inference_to_json(r: InferenceRecord) -> dict[str, Any]:
    return asdict(r)


def inference_from_json(d: dict[str, Any]) -> InferenceRecord:
    return InferenceRecord(**d)


def window_to_json(w: WindowSummary) -> dict[str, Any]:
    return asdict(w)


def window_from_json(d: dict[str, Any]) -> WindowSummary:
    data = dict(d)
    data["features"] = [FeatureSummary(**f) for f in data.get("features") or []]
    return WindowSummary(**data)
