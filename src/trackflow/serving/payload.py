"""Turn an /invocations body into model input, as MLflow's scoring server does.

JSON bodies hold exactly one of ``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs`` (plus optional ``params``; other keys are ignored, as MLflow ignores them);
``text/csv`` bodies are a table with a header row; Parquet bodies a table.

Against a signature that names its columns, text in a numeric column is converted as MLflow's
scoring server converts it (``"5.1"`` fills a ``double``), and rows without column names
(``"inputs": [[...]]``) are refused, as MLflow refuses them: the signature cannot say which
value is which column. ``tests/serving/test_scoring_differential.py`` holds both to MLflow.

A body that cannot be read raises :class:`PayloadError` (400 ``BAD_REQUEST``); one that reads
but does not fit the model's signature raises :class:`~trackflow.errors.InvalidInput`
(400 ``INVALID_PARAMETER_VALUE``); both name what is wrong.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import orjson
import pandas as pd

from trackflow.errors import InvalidInput
from trackflow.models.signature import ArrayPlan, ColSpec, PositionalRows, Schema

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
CONTENT_JSON = "application/json"
CONTENT_CSV = "text/csv"
CONTENT_PARQUET = "application/vnd.apache.parquet"  # MLflow's name; application/x-parquet also works
PARQUET_TYPES = (CONTENT_PARQUET, "application/x-parquet")
# signature column types whose values may arrive as text (a CSV cell, "5.1" in JSON)
_NUMERIC_DTYPES = {"double": "float64", "float": "float32", "long": "int64", "integer": "int32"}


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
    mime = _media_type(content_type)
    if mime == CONTENT_JSON or mime.endswith("+json"):
        return parse_json(body, schema, plan)
    if mime == CONTENT_CSV:
        return parse_csv(body, schema), None
    if mime in PARQUET_TYPES:
        try:
            frame = pd.read_parquet(io.BytesIO(body))
        except Exception as exc:  # noqa: BLE001 - any parquet failure is a bad body
            raise PayloadError(f"body is not a valid Parquet table: {exc}") from None
        return convert_numeric_text(frame, schema), None
    raise UnsupportedContentType(f"content type {mime!r} is not supported; {_SUPPORTED}")


_SUPPORTED = f"send {CONTENT_JSON}, {CONTENT_CSV} or {CONTENT_PARQUET}"


def _media_type(content_type: str | None) -> str:
    """The lower-cased media type of a Content-Type header; UnsupportedContentType for a
    missing header, a charset other than UTF-8, or any parameter but ``charset``."""
    if content_type is None or not content_type.strip():
        raise UnsupportedContentType(f"the request has no Content-Type header; {_SUPPORTED}")
    mime, *parameters = content_type.split(";")
    options: dict[str, str] = {}
    for parameter in parameters:
        if parameter.strip():
            name, _, value = parameter.partition("=")
            options[name.strip().lower()] = value.strip().strip('"').lower()
    unknown = sorted(set(options) - {"charset"})
    if unknown:
        raise UnsupportedContentType(
            f"content type parameters {unknown} are not supported (only charset); "
            "the scoring protocol changed in MLflow 2.0: put the format in the JSON body instead"
        )
    charset = options.get("charset", "utf-8")
    if charset not in ("utf-8", "utf8"):
        raise UnsupportedContentType(f"charset {charset!r} is not supported; send UTF-8")
    return mime.strip().lower()


def parse_csv(body: bytes, schema: Schema | None = None) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.BytesIO(body))
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise PayloadError(f"body is not a valid CSV table: {exc}") from None
    return convert_numeric_text(frame, schema)


def convert_numeric_text(frame: pd.DataFrame, schema: Schema | None) -> pd.DataFrame:
    """``frame`` with text in the signature's numeric columns converted to numbers, as MLflow's
    scoring server converts it; PayloadError names the first value that is not a number.

    JSON true/false become 1/0, as they do for MLflow. Only columns of dtype object or bool are
    touched (JSON numbers already arrive as numbers), so this costs nothing on the common path."""
    if schema is None or not schema.has_names or schema.is_tensor:
        return frame
    kinds = {name: dtype.kind for name, dtype in zip(frame.columns, frame.dtypes.tolist(), strict=True)}
    if all(kind not in "Ob" for kind in kinds.values()):
        return frame  # numbers only: the common case costs one look at the dtypes
    converted: dict[str, pd.Series] = {}
    for spec in schema.specs:
        if not isinstance(spec, ColSpec) or spec.raw is not None or spec.type not in _NUMERIC_DTYPES:
            continue
        if kinds.get(spec.name, "") not in ("O", "b"):
            continue
        column = frame[spec.name]
        try:
            converted[str(spec.name)] = column.astype(_NUMERIC_DTYPES[spec.type])
        except (ValueError, TypeError, OverflowError):
            bad = next((v for v in column if not _converts(v, _NUMERIC_DTYPES[spec.type])), None)
            raise PayloadError(
                f"column {spec.name!r} holds {bad!r}, which cannot be converted to {spec.type} "
                "as the model signature requires"
            ) from None
    if not converted:
        return frame
    return frame.assign(**converted)


def _converts(value: Any, dtype: str) -> bool:
    try:
        pd.Series([value], dtype=object).astype(dtype)
    except (ValueError, TypeError, OverflowError):
        return False
    return True


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
        raise InvalidInput(f"'params' must be a JSON object, got {type(params).__name__}")
    keys = [k for k in FORMATS if k in document]
    if len(keys) != 1:
        raise PayloadError(
            f"body must contain exactly one of the keys {list(FORMATS)} (and optionally 'params'); "
            f"got {list(document)}"
        )
    key = keys[0]
    value = document[key]
    if key == "dataframe_split":
        if plan is not None and isinstance(value, dict) and value.keys() <= {"columns", "data"}:
            rows: PositionalRows | None = plan.from_rows(value.get("columns"), value.get("data"))
            if rows is not None:
                return rows, params
        return convert_numeric_text(_dataframe_split(value), schema), params
    if key == "dataframe_records":
        return convert_numeric_text(_dataframe_records(value), schema), params
    data = _tensor_input(key, value, schema)
    if isinstance(data, pd.DataFrame):
        data = convert_numeric_text(data, schema)
    return data, params


def _dataframe_records(value: Any) -> pd.DataFrame:
    if not isinstance(value, list):
        raise PayloadError(
            f"'dataframe_records' must be a list of records (one object per row), got {type(value).__name__}"
        )
    try:
        if all(isinstance(r, dict) for r in value):
            return pd.DataFrame.from_records(value)
        return pd.DataFrame(value)  # rows without names: the signature decides if they fit
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"'dataframe_records' does not form a table: {exc}") from None


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
    named_columns = schema is not None and not tensor and schema.has_names
    if isinstance(value, dict):
        if tensor:
            return value  # the signature converts each named tensor to its dtype
        try:
            if all(np.isscalar(v) or v is None for v in value.values()):
                return pd.DataFrame([value])
            return pd.DataFrame(value)
        except ValueError as exc:
            raise InvalidInput(f"{key!r} columns do not form a table: {exc}") from None
    if isinstance(value, list):
        if value and all(isinstance(r, dict) for r in value):
            if tensor:
                return {k: np.asarray([r.get(k) for r in value]) for k in value[0]}
            return pd.DataFrame.from_records(value)
        if named_columns:
            assert schema is not None
            raise InvalidInput(
                f"{key!r} holds values without column names, but the model signature names its columns "
                f"{schema.names}: send rows as objects ({{column: value}}), columns as an object of lists, "
                "or a 'dataframe_split' with 'columns'"
            )
        if schema is not None:
            return value  # the signature makes the tensor of its dtype, or maps rows onto unnamed columns
        try:
            return np.asarray(value)
        except ValueError as exc:
            raise PayloadError(f"{key!r} is not a rectangular array: {exc}") from None
    if named_columns:
        assert schema is not None
        first = schema.specs[0]
        dtype = _NUMERIC_DTYPES.get(first.type) if isinstance(first, ColSpec) else None
        if isinstance(value, str) and dtype is not None and not _converts(value, dtype):
            # a value is converted to its column's type before its shape is checked (as in MLflow)
            raise PayloadError(f"{key!r} must be a list or an object, got the string {value!r}")
        raise InvalidInput(
            f"{key!r} must hold rows or columns, got the single value {value!r}; "
            f"the model signature expects columns {schema.names}"
        )
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
