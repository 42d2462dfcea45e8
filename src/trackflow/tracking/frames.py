"""Runs as a pandas DataFrame, with MLflow's column names."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from trackflow.entities import Run


def runs_to_dataframe(runs: Sequence[Run]) -> pd.DataFrame:
    rows = []
    for run in runs:
        info = run.info
        row: dict[str, object] = {
            "run_id": info.run_id,
            "experiment_id": info.experiment_id,
            "run_name": info.run_name,
            "status": info.status.value,
            "artifact_uri": info.artifact_uri,
            "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True) if info.start_time else pd.NaT,
            "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else pd.NaT,
        }
        row.update({f"metrics.{k}": v for k, v in run.data.metrics.items()})
        row.update({f"params.{k}": v for k, v in run.data.params.items()})
        row.update({f"tags.{k}": v for k, v in run.data.tags.items()})
        rows.append(row)
    columns = ["run_id", "experiment_id", "run_name", "status", "artifact_uri", "start_time", "end_time"]
    return pd.DataFrame(rows, columns=None if rows else columns)
