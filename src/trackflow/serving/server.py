"""Run the scoring app under uvicorn, with one or several worker processes.

With one worker the app is built in this process. With several, uvicorn starts fresh
processes that import :func:`app_from_environment`; the serve command hands them their
configuration through one environment variable (the only way into a spawned worker) and the
model as an already-downloaded local directory, so it is fetched once.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

WORKER_CONFIG_ENV = "TRACKFLOW_SCORING_WORKER_CONFIG"


@dataclass(frozen=True)
class ServeOptions:
    model_dir: str
    model_uri: str
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    max_body_bytes: int = 50 * 1024 * 1024
    inference_log_uri: str | None = None  # a database URI; None disables logging
    sample_rate: float = 1.0
    metrics_dir: str | None = None


def build_app(options: ServeOptions) -> Any:
    from trackflow.models.pyfunc import load_local
    from trackflow.serving.app import ScoringConfig, create_scoring_app

    model = load_local(options.model_dir)
    inference_logger = None
    if options.inference_log_uri:
        from trackflow.serving.inference_log import InferenceLogger
        from trackflow.store.sql.inference_store import SqlInferenceLogStore
        from trackflow.tracking.backend import open_database

        store = SqlInferenceLogStore(open_database(options.inference_log_uri))
        inference_logger = InferenceLogger(store, options.model_uri, options.sample_rate)
    config = ScoringConfig(options.model_uri, options.max_body_bytes, options.metrics_dir)
    return create_scoring_app(model, config, inference_logger)


def app_from_environment() -> Any:
    """uvicorn factory for worker processes (see module docstring)."""
    return build_app(ServeOptions(**json.loads(os.environ[WORKER_CONFIG_ENV])))


def serve(options: ServeOptions) -> None:
    import uvicorn

    kwargs: dict[str, Any] = {"host": options.host, "port": options.port, "log_level": "warning", "access_log": False}
    if options.workers <= 1:
        uvicorn.run(build_app(options), **kwargs)
        return
    import tempfile

    metrics_dir = tempfile.mkdtemp(prefix="trackflow-metrics-")
    options = ServeOptions(**{**asdict(options), "metrics_dir": metrics_dir})
    os.environ[WORKER_CONFIG_ENV] = json.dumps(asdict(options))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read by prometheus_client when workers import it
    uvicorn.run("trackflow.serving.server:app_from_environment", factory=True, workers=options.workers, **kwargs)
