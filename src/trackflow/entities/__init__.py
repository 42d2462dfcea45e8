"""Plain dataclasses describing trackflow's records. No I/O, no wire format."""

from trackflow.entities.paging import PagedList
from trackflow.entities.tracking import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Param,
    Run,
    RunData,
    RunInfo,
    RunInputs,
    RunStatus,
    RunTag,
    ViewType,
)

__all__ = [
    "DatasetInput",
    "Experiment",
    "LifecycleStage",
    "Metric",
    "PagedList",
    "Param",
    "Run",
    "RunData",
    "RunInfo",
    "RunInputs",
    "RunStatus",
    "RunTag",
    "ViewType",
]
