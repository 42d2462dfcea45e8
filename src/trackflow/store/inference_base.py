"""The inference log interface: sampled scoring requests, and per-feature summaries over time.

Implemented by ``sql.inference_store.SqlInferenceLogStore``. Each method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from trackflow.entities.inference import InferenceRecord, WindowSummary


class InferenceLogStore(Protocol):
    def log_inferences(self, records: Sequence[InferenceRecord]) -> None:
        """Append records (all or nothing)."""

    def list_inferences(
        self, endpoint: str, start_ms: int | None = None, end_ms: int | None = None, max_results: int = 1000
    ) -> list[InferenceRecord]:
        """Records of ``endpoint`` with ``start_ms <= timestamp < end_ms``, newest first.
        InvalidInput if max_results is not in 1..50000."""

    def summarize(self, endpoint: str, start_ms: int, end_ms: int, window_ms: int) -> list[WindowSummary]:
        """One summary per window of ``window_ms`` from ``start_ms`` to ``end_ms`` (windows without
        requests are included with zero counts). InvalidInput if window_ms <= 0, end <= start, or
        more than 10,000 windows are asked for."""
