"""Turn an /invocations body into model input, as MLflow's scoring server does.

JSON bodies hold exactly one of ``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs`` (plus optional ``params``); ``text/csv`` bodies are a table with a header row.
Every problem raises :class:`PayloadError` with a message naming it; the app answers 400.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
import pandas as pd

from trackflow.errors import InvalidInput
from trackflow.models.signature import ArrayPlan, PositionalRows, Schema

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CONTENT_JSON = "application/json"
CONTENT_CSV = "text/csv"
CONTENT_PARQUET = "application/x-parquet"


class PayloadError(InvalidInput):
    """The request body is not a valid scoring request (answered as 400 BAD_REQUEST)."""

    error_code = "BAD_REQUEST"


class UnsupportedContentType(PayloadError):
    """The content type is not one the server reads (answered as 415)."""


def parse_request(
    body: bytes, content_type: str | None, schema: Schema | None, plan: ArrayPlan | None = None
) -> tuple[Any, dict[str, Any] | None]:
    """``(model_input, params)`` for a request body; PayloadError names what is wrong.

    With a ``plan`` (the model's :class:`ArrayPlan`), a ``dataframe_split`` of plain numbers in
    the model's columns comes back as :class:`PositionalRows`, ready for ``predict_rows``."""
    mime, _, options = (content_type or CONTENT_JSON).partition(";")
    mime = mime.strip().lower()
    charset = options.partition("charset=")[2].strip().lower() if "charset=" in options else "utf-8"
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedContentType(f"charset {charset!r} is not supported; send UTF-8")
    if mime == CONTENT_JSON or mime.endswith("+json"):
        return parse_json(body, schema, plan)
    if mime == CONTENT_CSV:
        return parse_csv(body), None
    if mime == CONTENT_PARQUET:
        try:
            return pd.read_parquet(io.BytesIO(body)), None
        except Exception as exc:  # noqa: BLE001 - any parquet failure is a bad body
            raise PayloadError(f"body is not a valid Parquet table: {exc}") from None
    raise UnsupportedContentType(
        f"content type {mime!r} is not supported; use {CONTENT_JSON}, {CONTENT_CSV} or {CONTENT_PARQUET}"
    )


def parse_csv(body: bytes) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PayloadError(f"body is not a valid CSV table: {exc}") from None


def parse_json(
    body: bytes, schema: Schema | None, plan: ArrayPlan | None = None
) -> tuple[Any, dict[str, Any] | None]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError(f"body must be a JSON object with one of the keys {list(FORMATS)}")
    params = document.get("params")
    if params is not None and not isinstance(params, dict):
        raise PayloadError("'params' must be a JSON object")
    unknown = sorted(set(document) - set(FORMATS) - {"params"})
    keys = [k for k in FORMATS if k in document]
    if unknown or len(keys) != 1:
        found = list(document)
        raise PayloadError(
            f"body must contain exactly one of the keys {list(FORMATS)} (and optionally 'params'); got {found}"
        )
    key = keys[0]
    value = document[key]
    if key == "dataframe_split":
        if plan is not None and isinstance(value, dict) and value.keys() <= {"columns", "data"}:
            rows: PositionalRows | None = plan.from_rows(value.get("columns"), value.get("data"))
            if rows is not None:
                return rows, params
        return _dataframe_split(value), params
    if key == "dataframe_records":
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise PayloadError("'dataframe_records' must be a list of objects (one per row)")
        return pd.DataFrame.from_records(value), params
    return _tensor_input(key, value, schema), params


def _dataframe_split(value: Any) -> pd.DataFrame:
    if not isinstance(value, dict) or "data" not in value:
        raise PayloadError("'dataframe_split' must be an object with 'data' (and usually 'columns')")
    extra = sorted(set(value) - {"columns", "data", "index"})
    if extra:
        raise PayloadError(f"'dataframe_split' has unknown keys {extra}; allowed: columns, data, index")
    data = value["data"]
    if not isinstance(data, list):
        raise PayloadError("'dataframe_split.data' must be a list of rows")
    columns = value.get("columns")
    if columns is not None and (not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)):
        raise PayloadError("'dataframe_split.columns' must be a list of column names")
    rows = data if not data or isinstance(data[0], list) else [[v] for v in data]
    if columns is not None and any(not isinstance(r, list) or len(r) != len(columns) for r in rows):
        raise PayloadError(f"every row of 'dataframe_split.data' must have {len(columns)} values, like 'columns'")
    try:
        if rows and value.get("index") is None:
            # all-numeric tables (the common case) build much faster from one ndarray block
            array = np.array(rows)
            if array.ndim == 2 and array.dtype.kind in "fiub":
                return pd.DataFrame(array, columns=columns)
        return pd.DataFrame(rows, columns=columns, index=value.get("index"))
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"'dataframe_split' does not form a table: {exc}") from None


def _tensor_input(key: str, value: Any, schema: Schema | None) -> Any:
    """``instances``/``inputs``: records or columns become a DataFrame for column-based models,
    arrays (or a dict of arrays) for tensor-based ones."""
    tensor = schema is not None and schema.is_tensor
    if isinstance(value, dict):
        if tensor:
            return value  # the signature converts each named tensor to its dtype
        try:
            if all(np.isscalar(v) or v is None for v in value.values()):
                return pd.DataFrame([value])
            return pd.DataFrame(value)
        except ValueError as exc:
            raise PayloadError(f"{key!r} columns do not form a table: {exc}") from None
    if isinstance(value, list):
        if value and all(isinstance(r, dict) for r in value):
            if tensor:
                return {k: np.asarray([r.get(k) for r in value]) for k in value[0]}
            return pd.DataFrame.from_records(value)
        if schema is not None:
            return value  # the signature maps rows onto its columns, or makes the tensor of its dtype
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise PayloadError(f"{key!r} is not a rectangular array: {exc}") from None
    raise PayloadError(f"{key!r} must be a list or an object, got {type(value).__name__}")


def predictions_to_jsonable(predictions: Any) -> Any:
    """numpy / pandas results as plain lists and dicts (DataFrames become records)."""
    if isinstance(predictions, pd.DataFrame):
        return predictions.to_dict(orient="records")
    if isinstance(predictions, pd.Series):
        return predictions.tolist()
    if isinstance(predictions, np.ndarray):
        return predictions.tolist()
    if isinstance(predictions, dict):
        return {k: predictions_to_jsonable(v) for k, v in predictions.items()}
    if isinstance(predictions, list | tuple):
        return [predictions_to_jsonable(v) for v in predictions]
    if isinstance(predictions, np.generic):
        return predictions.item()
    return predictions


def encode_predictions(predictions: Any) -> bytes:
    try:
        return orjson.dumps(
            {"predictions": predictions_to_jsonable(predictions)}, option=orjson.OPT_SERIALIZE_NUMPY
        )
    except TypeError as exc:
        kind = type(predictions).__name__
        raise InvalidInput(f"model output of type {kind} is not JSON-serializable: {exc}") from None
