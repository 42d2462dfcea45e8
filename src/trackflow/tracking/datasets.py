"""Describe a dataset a run consumed (MLflow's log_input)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from trackflow.entities import DatasetInput
from trackflow.errors import InvalidInput


def as_dataset_input(dataset: Any, context: str | None = None, name: str | None = None) -> DatasetInput:
    """A DatasetInput as is, or one describing a pandas DataFrame (schema, shape, content digest)."""
    tags = {"mlflow.data.context": context} if context else {}
    if isinstance(dataset, DatasetInput):
        return DatasetInput(**{**dataset.__dict__, "tags": {**dataset.tags, **tags}})
    if hasattr(dataset, "to_parquet") and hasattr(dataset, "dtypes"):
        import pandas as pd

        digest = hashlib.sha256(pd.util.hash_pandas_object(dataset, index=True).values.tobytes()).hexdigest()[:8]
        schema = {"mlflow_colspec": [{"name": str(c), "type": str(t)} for c, t in dataset.dtypes.items()]}
        profile = {"num_rows": int(dataset.shape[0]), "num_elements": int(dataset.size)}
        return DatasetInput(
            name=name or getattr(dataset, "name", None) or "dataset",
            digest=digest,
            source_type="code",
            source=json.dumps({"type": "pandas"}),
            schema=json.dumps(schema),
            profile=json.dumps(profile),
            tags=tags,
        )
    raise InvalidInput(f"cannot log a dataset of type {type(dataset).__name__}: pass a DatasetInput or a DataFrame")
