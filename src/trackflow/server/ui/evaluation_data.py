"""Data of an evaluation's per-row results page: the table ``trackflow.evaluate`` (or MLflow's
``log_table``) stored as ``eval_results_table.json`` in the run's artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from trackflow.errors import InvalidInput, NotFound
from trackflow.evaluation.run import TABLE_FILE
from trackflow.server.services import Services

MAX_ROWS = 1000
MAX_TABLE_BYTES = 50 * 1024 * 1024


@dataclass
class EvaluationPage:
    run_id: str
    run_name: str
    experiment_id: str
    metrics: list[tuple[str, float]]  # the run's aggregates, e.g. exact_match/mean
    columns: list[str]
    rows: list[list[Any]]
    total_rows: int


def evaluation_page(services: Services, run_id: str) -> EvaluationPage:
    """NotFound for an unknown run or one without the table; InvalidInput if it is not MLflow's
    ``{"columns": [...], "data": [[...], ...]}``. At most MAX_ROWS rows."""
    run = services.tracking.get_run(run_id)
    repo = services.run_artifacts(run.info.artifact_uri)
    try:
        raw = b"".join(repo.open_read(TABLE_FILE))
    except (NotFound, FileNotFoundError):
        raise NotFound(f"run {run_id} has no {TABLE_FILE}: it is not an evaluation run") from None
    if len(raw) > MAX_TABLE_BYTES:
        raise InvalidInput(f"{TABLE_FILE} of run {run_id} is larger than {MAX_TABLE_BYTES // 2**20} MiB")
    try:
        table = json.loads(raw)
        columns, data = [str(c) for c in table["columns"]], list(table["data"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(f"{TABLE_FILE} of run {run_id} is not a table of columns and data") from None
    metrics = sorted((k, v) for k, v in run.data.metrics.items())
    return EvaluationPage(run_id, run.info.run_name or run_id, run.info.experiment_id, metrics, columns,
                          [list(row) for row in data[:MAX_ROWS]], len(data))
