"""Prometheus metrics of one scoring app: requests, latency, errors by kind.

Each app owns its own CollectorRegistry (no process-global metrics), so tests can build many
apps. With several uvicorn workers the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before they
start; every worker then writes its samples there and ``/metrics`` sums them.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ScoringMetrics:
    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self._registry = CollectorRegistry()
        self._multiprocess = bool(multiprocess_dir) and os.path.isdir(str(multiprocess_dir))
        if self._multiprocess:
            # samples live in files; the metric objects register nowhere, the collector reads the files
            MultiProcessCollector(self._registry, path=multiprocess_dir)
            target: CollectorRegistry | None = None
        else:
            target = self._registry
        self.requests = Counter(
            "trackflow_scoring_requests_total",
            "Scoring requests by endpoint and HTTP status.",
            ["endpoint", "status"],
            registry=target,
        )
        self.latency = Histogram(
            "trackflow_scoring_request_seconds",
            "Time to answer /invocations (parse, predict, encode).",
            buckets=LATENCY_BUCKETS,
            registry=target,
        )
        self.errors = Counter(
            "trackflow_scoring_errors_total",
            "Failed /invocations requests by kind (bad_json, bad_format, schema, too_large, content_type, model).",
            ["kind"],
            registry=target,
        )
        self.rows = Counter("trackflow_scoring_rows_total", "Rows (examples) scored.", registry=target)

    def render(self) -> bytes:
        return generate_latest(self._registry)
