"""Batch scoring: a file in (CSV, JSON, Parquet), predictions out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from trackflow.errors import InvalidInput
from trackflow.models.pyfunc import load_local
from trackflow.models.signature import Schema
from trackflow.serving.payload import FORMATS as PAYLOAD_KEYS
from trackflow.serving.payload import encode_predictions, parse_csv, parse_json, predictions_to_jsonable

FORMATS = ("csv", "json", "parquet")


def read_input(path: Path, fmt: str | None, schema: Schema | None) -> Any:
    """The file's rows. JSON may be a scoring payload (``dataframe_split`` ...), a list of
    records, or an object of columns."""
    fmt = fmt or path.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise InvalidInput(
            f"cannot tell the format of {str(path)!r}: use a .csv, .json or .parquet file or --content-type"
        )
    if fmt == "csv":
        return parse_csv(path.read_bytes())
    if fmt == "parquet":
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any reader failure means a bad file
            raise InvalidInput(f"{str(path)!r} is not a readable Parquet file: {exc}") from None
    try:
        document = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{str(path)!r} is not valid JSON: {exc}") from None
    if isinstance(document, dict) and any(k in document for k in PAYLOAD_KEYS):
        return parse_json(path.read_bytes(), schema)[0]
    if isinstance(document, list) and document and all(isinstance(r, dict) for r in document):
        return pd.DataFrame.from_records(document)
    if isinstance(document, dict):
        return pd.DataFrame(document)
    return document


def write_output(predictions: Any, path: Path | None) -> str | None:
    """Write predictions to ``path`` by its extension; without a path return JSON text."""
    if path is None or path.suffix.lower() == ".json":
        payload = encode_predictions(predictions)
        if path is None:
            return payload.decode()
        path.write_bytes(payload)
        return None
    if isinstance(predictions, pd.DataFrame):
        frame = predictions
    elif isinstance(predictions, pd.Series):
        frame = predictions.to_frame("prediction")
    else:
        values = predictions_to_jsonable(predictions)
        one_column = not values or not isinstance(values[0], list)
        frame = pd.DataFrame({"prediction": values}) if one_column else pd.DataFrame(values)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    elif suffix == ".parquet":
        frame.columns = [str(c) for c in frame.columns]
        frame.to_parquet(path, index=False)
    else:
        raise InvalidInput(f"cannot write predictions to {str(path)!r}: use .json, .csv or .parquet")
    return None


def predict_file(
    model_uri: str, input_path: Path, output_path: Path | None, fmt: str | None = None, tracking_uri: str | None = None
) -> str | None:
    from trackflow.models.uri import download_model

    model = load_local(download_model(model_uri, tracking_uri=tracking_uri))
    schema = model.metadata.signature.inputs if model.metadata.signature else None
    return write_output(model.predict(read_input(input_path, fmt, schema)), output_path)
