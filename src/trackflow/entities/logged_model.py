"""Logged models (MLflow 3's LoggedModel): a model as a first-class record of an experiment,
with its own id (``m-<32 hex>``), artifact location, params, tags and the metrics evaluated
on it, linked to the run that produced it (``source_run_id``) and to runs that used it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from trackflow.entities.tracking import LifecycleStage, Metric


class LoggedModelStatus(enum.StrEnum):
    """Upload state: PENDING while the artifacts are written, then READY or FAILED."""

    UNSPECIFIED = "UNSPECIFIED"
    PENDING = "PENDING"
    READY = "READY"
    FAILED = "FAILED"


@dataclass
class LoggedModel:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    creation_timestamp: int  # milliseconds since the epoch
    last_updated_timestamp: int
    status: LoggedModelStatus = LoggedModelStatus.PENDING
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    model_type: str | None = None
    source_run_id: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    # Every metric logged against the model (run_id, model_id and dataset fields set).
    metrics: list[Metric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"


@dataclass(frozen=True)
class DatasetFilter:
    """Restricts the metrics a logged-model search looks at to one dataset (digest optional)."""

    dataset_name: str
    dataset_digest: str | None = None


@dataclass(frozen=True)
class LoggedModelOrder:
    """One order_by entry of a logged-model search: an attribute (``name``, ``creation_timestamp``...)
    or ``metrics.<key>``, optionally the metric's value on one dataset."""

    field_name: str
    ascending: bool = True
    dataset_name: str | None = None
    dataset_digest: str | None = None
