"""Tracking records: experiments, runs and what is logged to them."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class LifecycleStage(enum.StrEnum):
    ACTIVE = "active"
    DELETED = "deleted"


class ViewType(enum.StrEnum):
    """Which lifecycle stages a search returns."""

    ACTIVE_ONLY = "ACTIVE_ONLY"
    DELETED_ONLY = "DELETED_ONLY"
    ALL = "ALL"

    def stages(self) -> tuple[LifecycleStage, ...]:
        if self is ViewType.ACTIVE_ONLY:
            return (LifecycleStage.ACTIVE,)
        if self is ViewType.DELETED_ONLY:
            return (LifecycleStage.DELETED,)
        return (LifecycleStage.ACTIVE, LifecycleStage.DELETED)


class RunStatus(enum.StrEnum):
    RUNNING = "RUNNING"
    SCHEDULED = "SCHEDULED"
    FINISHED = "FINISHED"
    FAILED = "FAILED"
    KILLED = "KILLED"

    @property
    def is_terminal(self) -> bool:
        return self in (RunStatus.FINISHED, RunStatus.FAILED, RunStatus.KILLED)


@dataclass(slots=True)  # not frozen: metric histories build 100,000s of these
class Metric:
    key: str
    value: float
    timestamp: int  # milliseconds since the epoch
    step: int = 0
    # MLflow 3: a metric may also be evaluated on a logged model and a dataset.
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None
    run_id: str | None = None  # set on a logged model's metrics (the run that logged them)


@dataclass(frozen=True)
class Param:
    key: str
    value: str


@dataclass(frozen=True)
class RunTag:
    key: str
    value: str


@dataclass(frozen=True)
class DatasetInput:
    """A dataset a run consumed, as MLflow's log_inputs describes it."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class Experiment:
    experiment_id: str
    name: str
    artifact_location: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE
    tags: dict[str, str] = field(default_factory=dict)
    creation_time: int | None = None
    last_update_time: int | None = None


@dataclass
class RunInfo:
    run_id: str
    experiment_id: str
    run_name: str
    user_id: str
    status: RunStatus
    start_time: int | None
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: LifecycleStage = LifecycleStage.ACTIVE


@dataclass
class RunData:
    """Latest metric values, params and tags of a run."""

    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # Full latest Metric records (value, step, timestamp) keyed by metric key.
    latest_metrics: dict[str, Metric] = field(default_factory=dict)


@dataclass
class RunInputs:
    datasets: list[DatasetInput] = field(default_factory=list)
    model_ids: list[str] = field(default_factory=list)  # logged models the run used


@dataclass(frozen=True)
class ModelOutput:
    """A logged model the run produced, at a training step."""

    model_id: str
    step: int = 0


@dataclass
class RunOutputs:
    models: list[ModelOutput] = field(default_factory=list)


@dataclass
class Run:
    info: RunInfo
    data: RunData
    inputs: RunInputs = field(default_factory=RunInputs)
    outputs: RunOutputs = field(default_factory=RunOutputs)

    @property
    def run_id(self) -> str:
        return self.info.run_id

    @property
    def parent_run_id(self) -> str | None:
        return self.data.tags.get("mlflow.parentRunId")


@dataclass
class MetricSeriesSample:
    """A metric history of one run as a chart needs it: the finite points of an x range,
    downsampled, and counts over the whole history.

    ``points`` are (x, value) with x the step or the timestamp (ms), in x order. ``total`` and
    ``non_finite`` count the whole history (NaN/inf values have no place on a chart);
    ``first_timestamp``/``first_step``/``last_step`` are over its finite points (None if none)."""

    points: list[tuple[int, float]]
    total: int
    non_finite: int
    first_timestamp: int | None
    first_step: int | None
    last_step: int | None
