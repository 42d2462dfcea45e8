"""Inference log records and their per-feature summaries over time windows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class InferenceRecord:
    """One sampled /invocations request: its input rows and the predictions returned."""

    endpoint: str  # what was served, usually the model URI
    timestamp: int  # milliseconds since the epoch
    inputs: list[dict[str, Any]]
    predictions: Any
    latency_ms: float
    record_id: int | None = None


@dataclass(frozen=True)
class FeatureSummary:
    """Statistics of one input feature over one window. Numeric stats are None for text features."""

    feature: str
    count: int
    nulls: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None
    distinct: int | None = None


@dataclass(frozen=True)
class WindowSummary:
    window_start: int
    window_end: int
    requests: int
    rows: int
    mean_latency_ms: float
    features: list[FeatureSummary] = field(default_factory=list)
