"""InferenceLogStore on SQL: sampled scoring requests and per-feature window summaries."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select

from trackflow.entities.inference import FeatureSummary, InferenceRecord, WindowSummary
from trackflow.errors import InvalidInput
from trackflow.store.sql.database import Database
from trackflow.store.sql.registry_tables import inference_log

MAX_WINDOWS = 10_000


class SqlInferenceLogStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def log_inferences(self, records: Sequence[InferenceRecord]) -> None:
        if not records:
            return
        rows = [
            {
                "endpoint": r.endpoint, "timestamp": r.timestamp, "latency_ms": float(r.latency_ms),
                "inputs": json.dumps(r.inputs, default=str), "predictions": json.dumps(r.predictions, default=str),
            }
            for r in records
        ]
        with self.db.write() as conn:
            conn.execute(insert(inference_log), rows)

    def list_inferences(
        self, endpoint: str, start_ms: int | None = None, end_ms: int | None = None, max_results: int = 1000
    ) -> list[InferenceRecord]:
        if not isinstance(max_results, int) or not 1 <= max_results <= 50_000:
            raise InvalidInput(f"max_results must be an integer between 1 and 50000, got {max_results!r}")
        t = inference_log
        query = select(t).where(t.c.endpoint == endpoint)
        if start_ms is not None:
            query = query.where(t.c.timestamp >= start_ms)
        if end_ms is not None:
            query = query.where(t.c.timestamp < end_ms)
        query = query.order_by(t.c.timestamp.desc(), t.c.record_id.desc()).limit(max_results)
        with self.db.read() as conn:
            return [
                InferenceRecord(
                    r.endpoint, r.timestamp, json.loads(r.inputs), json.loads(r.predictions), r.latency_ms,
                    int(r.record_id),
                )
                for r in conn.execute(query)
            ]

    def summarize(self, endpoint: str, start_ms: int, end_ms: int, window_ms: int) -> list[WindowSummary]:
        if window_ms <= 0:
            raise InvalidInput(f"window_ms must be positive, got {window_ms}")
        if end_ms <= start_ms:
            raise InvalidInput(f"end_ms ({end_ms}) must be after start_ms ({start_ms})")
        count = math.ceil((end_ms - start_ms) / window_ms)
        if count > MAX_WINDOWS:
            raise InvalidInput(f"{count} windows asked for; at most {MAX_WINDOWS} (use a larger window_ms)")
        t = inference_log
        query = (
            select(t.c.timestamp, t.c.latency_ms, t.c.inputs)
            .where(t.c.endpoint == endpoint, t.c.timestamp >= start_ms, t.c.timestamp < end_ms)
            .order_by(t.c.timestamp)
        )
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        buckets: dict[int, list[Any]] = defaultdict(list)
        for row in rows:
            buckets[(row.timestamp - start_ms) // window_ms].append(row)
        return [
            summarize_window(start_ms + i * window_ms, min(end_ms, start_ms + (i + 1) * window_ms), buckets.get(i, []))
            for i in range(count)
        ]


def summarize_window(window_start: int, window_end: int, rows: Sequence[Any]) -> WindowSummary:
    """Per-feature count, nulls, mean/std/min/max (numbers) or distinct values (text). Pure."""
    values: dict[str, list[Any]] = defaultdict(list)
    n_rows = 0
    for row in rows:
        for record in json.loads(row.inputs):
            n_rows += 1
            for feature, value in record.items():
                values[feature].append(value)
    features = []
    for feature in sorted(values):
        items = values[feature]
        present = [v for v in items if v is not None and not (isinstance(v, float) and math.isnan(v))]
        numbers = [float(v) for v in present if isinstance(v, int | float) and not isinstance(v, bool)]
        if present and len(numbers) == len(present):
            mean = sum(numbers) / len(numbers)
            std = math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))
            features.append(
                FeatureSummary(feature, len(items), len(items) - len(present), mean, std, min(numbers), max(numbers))
            )
        else:
            distinct = len({json.dumps(v, sort_keys=True, default=str) for v in present})
            features.append(FeatureSummary(feature, len(items), len(items) - len(present), distinct=distinct))
    latency = sum(r.latency_ms for r in rows) / len(rows) if rows else 0.0
    return WindowSummary(window_start, window_end, len(rows), n_rows, latency, features)
