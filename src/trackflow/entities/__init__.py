"""Plain dataclasses describing trackflow's records. No I/O, no wire format."""

from trackflow.entities.logged_model import DatasetFilter, LoggedModel, LoggedModelOrder, LoggedModelStatus
from trackflow.entities.paging import PagedList
from trackflow.entities.tracking import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    MetricSeriesSample,
    ModelOutput,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunOutputs,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "DatasetFilter",
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "LoggedModel",
    "LoggedModelOrder",
    "LoggedModelStatus",
    "Metric",
    "MetricSeriesSample",
    "ModelOutput",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunOutputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
