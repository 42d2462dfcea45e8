"""Model signatures: what a model takes and returns, inferred from examples, enforced at predict.

The on-disk form is MLflow's: ``signature: {inputs: '<json>', outputs: '<json>', params: ...}``
where inputs/outputs are lists of column specs (``{"name", "type", "required"}``) or tensor
specs (``{"type": "tensor", "tensor-spec": {"dtype", "shape"}}``).

Enforcement turns whatever the caller passed (DataFrame, ndarray, dict, list) into what the
model was trained on: named columns are selected and ordered as the signature says, types are
converted when no information is lost, and anything else raises InvalidInput naming the column.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trackflow.errors import InvalidInput

# MLflow column types -> the numpy dtype values are converted to.
COLUMN_DTYPES: dict[str, str] = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "object",
    "binary": "object",
    "datetime": "datetime64[ns]",
}
_INTEGER_TYPES = {"integer", "long"}
_FLOAT_TYPES = {"float", "double"}


@dataclass(frozen=True)
class ColSpec:
    type: str
    name: str | None = None
    required: bool = True
    raw: dict[str, Any] | None = None  # complex MLflow types (array, object, map) kept verbatim

    def to_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        out["required"] = self.required
        return out


@dataclass(frozen=True)
class TensorSpec:
    dtype: str
    shape: tuple[int, ...]
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}
        if self.name is not None:
            out["name"] = self.name
        return out


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Schema:
    specs: tuple[Spec, ...]

    @property
    def is_tensor(self) -> bool:
        return bool(self.specs) and isinstance(self.specs[0], TensorSpec)

    @property
    def has_names(self) -> bool:
        return bool(self.specs) and all(s.name is not None for s in self.specs)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.specs if s.name is not None]

    def to_json(self) -> str:
        return json.dumps([s.to_dict() for s in self.specs])

    @classmethod
    def from_list(cls, items: list[dict[str, Any]]) -> Schema:
        specs: list[Spec] = []
        for item in items:
            if item.get("type") == "tensor":
                ts = item.get("tensor-spec") or {}
                shape = tuple(int(d) for d in ts.get("shape") or ())
                specs.append(TensorSpec(str(ts.get("dtype")), shape, item.get("name")))
            elif item.get("type") in COLUMN_DTYPES:
                specs.append(ColSpec(str(item["type"]), item.get("name"), bool(item.get("required", True))))
            else:
                required = bool(item.get("required", True))
                specs.append(ColSpec(str(item.get("type")), item.get("name"), required, raw=item))
        return cls(tuple(specs))


@dataclass(frozen=True)
class ModelSignature:
    inputs: Schema | None = None
    outputs: Schema | None = None
    params: list[dict[str, Any]] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "inputs": self.inputs.to_json() if self.inputs else None,
            "outputs": self.outputs.to_json() if self.outputs else None,
            "params": json.dumps(self.params) if self.params else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSignature:
        def parse(value: Any) -> Any:
            if isinstance(value, str):
                try:
                    return json.loads(value)
                except json.JSONDecodeError:
                    raise InvalidInput(f"model signature part is not valid JSON: {value[:80]!r}") from None
            return value

        inputs, outputs, params = parse(data.get("inputs")), parse(data.get("outputs")), parse(data.get("params"))
        return cls(
            inputs=Schema.from_list(inputs) if inputs else None,
            outputs=Schema.from_list(outputs) if outputs else None,
            params=params or None,
        )


# Inference ----------------------------------------------------------------------------------


def _column_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "long" if dtype.itemsize >= 8 or pd.api.types.is_unsigned_integer_dtype(dtype) else "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "float" if dtype.itemsize == 4 else "double"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    values = series.dropna()
    if len(values) and all(isinstance(v, bytes | bytearray) for v in values):
        return "binary"
    if len(values) and all(isinstance(v, bool) for v in values):
        return "boolean"
    if len(values) and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "long"
    if len(values) and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "double"
    if pd.api.types.is_string_dtype(dtype) or all(isinstance(v, str) for v in values):
        return "string"
    raise InvalidInput(f"cannot infer a signature type for column {series.name!r} with dtype {dtype}")


def infer_schema(data: Any) -> Schema:
    """A schema describing ``data``: DataFrame/dict/records -> named columns, ndarray -> a tensor."""
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, dict):
        if data and all(isinstance(v, np.ndarray) for v in data.values()):
            return Schema(tuple(TensorSpec(str(v.dtype), (-1, *v.shape[1:]), str(k)) for k, v in data.items()))
        data = pd.DataFrame([data]) if all(np.isscalar(v) or v is None for v in data.values()) else pd.DataFrame(data)
    if isinstance(data, list):
        if data and all(isinstance(r, dict) for r in data):
            data = pd.DataFrame.from_records(data)
        elif data and all(isinstance(r, str) for r in data):
            return Schema((ColSpec("string"),))
        else:
            data = np.asarray(data)
    if isinstance(data, pd.DataFrame):
        named = all(isinstance(c, str) for c in data.columns)
        return Schema(tuple(ColSpec(_column_type(data[c]), str(c) if named else None) for c in data.columns))
    if isinstance(data, np.ndarray):
        if data.dtype.kind in "OUS":
            if data.ndim == 1:  # MLflow describes 1-D text as a string column, never a sized str tensor
                return Schema((ColSpec(_column_type(pd.Series(data.astype(object)))),))
            raise InvalidInput(f"cannot infer a tensor signature from an array of dtype {data.dtype}")
        return Schema((TensorSpec(str(data.dtype), (-1, *data.shape[1:])),))
    raise InvalidInput(f"cannot infer a signature from a {type(data).__name__}")


def infer_output_schema(output: Any, input_schema: Schema | None) -> Schema | None:
    try:
        if isinstance(output, np.ndarray) and output.ndim == 1 and input_schema and not input_schema.is_tensor:
            return Schema((ColSpec(_column_type(pd.Series(output))),))
        if isinstance(output, list):
            output = np.asarray(output)
        return infer_schema(output)
    except InvalidInput:
        return None


def infer_signature(model_input: Any, model_output: Any = None, params: dict[str, Any] | None = None) -> ModelSignature:
    """Signature from an example input (and optionally the model's output on it)."""
    inputs = infer_schema(model_input)
    outputs = infer_output_schema(model_output, inputs) if model_output is not None else None
    param_specs = None
    if params:
        param_specs = [
            {"name": k, "type": _column_type(pd.Series([v])), "default": v, "shape": None} for k, v in params.items()
        ]
    return ModelSignature(inputs, outputs, param_specs)


# Enforcement --------------------------------------------------------------------------------


def to_dataframe(data: Any) -> pd.DataFrame:
    """The caller's input as a DataFrame: dicts are one row (scalars) or columns (lists)."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, dict):
        if all(np.isscalar(v) or v is None for v in data.values()):
            return pd.DataFrame([data])
        try:
            return pd.DataFrame(data)
        except ValueError as exc:
            raise InvalidInput(f"input columns cannot form a table: {exc}") from None
    if isinstance(data, list):
        if data and all(isinstance(r, dict) for r in data):
            return pd.DataFrame.from_records(data)
        return pd.DataFrame(data)
    if isinstance(data, np.ndarray):
        return pd.DataFrame(data if data.ndim > 1 else data.reshape(-1, 1))
    raise InvalidInput(f"unsupported input type {type(data).__name__}: pass a DataFrame, ndarray, dict or list")


def _is_number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _convert_column(values: pd.Series, spec: ColSpec, label: str) -> pd.Series:
    want = spec.type
    dtype = values.dtype
    kind = dtype.kind
    if spec.raw is not None:  # complex types: passed through unchecked
        return values
    if want in _FLOAT_TYPES:
        if kind in "fiu":
            return values.astype(COLUMN_DTYPES[want])
        if kind == "O" and values.map(_is_number_or_none).all():
            return values.astype(COLUMN_DTYPES[want])
    elif want in _INTEGER_TYPES:
        if kind in "iu":
            return values.astype(COLUMN_DTYPES[want])
        if kind == "f" and not values.isna().any() and bool(np.all(np.mod(values.to_numpy(), 1) == 0)):
            return values.astype(COLUMN_DTYPES[want])  # 3.0 -> 3 loses nothing
        if kind == "O" and values.map(lambda v: isinstance(v, int) and not isinstance(v, bool)).all():
            return values.astype(COLUMN_DTYPES[want])
    elif want == "boolean":
        if kind == "b":
            return values
        if kind == "O" and values.map(lambda v: isinstance(v, bool)).all():
            return values.astype(bool)
    elif want == "string":
        if pd.api.types.is_string_dtype(dtype) and values.map(lambda v: v is None or isinstance(v, str)).all():
            return values
    elif want == "binary":
        if kind == "O":
            return values
    elif want == "datetime":
        try:
            return pd.to_datetime(values)
        except (ValueError, TypeError):
            pass
    raise InvalidInput(f"column {label} has type {dtype} but the model signature expects {want}")


def _enforce_columns(schema: Schema, data: Any) -> pd.DataFrame:
    if isinstance(data, np.ndarray) and data.ndim == 2 and schema.has_names:
        if data.shape[1] != len(schema.specs):
            raise InvalidInput(
                f"input has {data.shape[1]} columns but the model signature expects {len(schema.specs)}: {schema.names}"
            )
        data = pd.DataFrame(data, columns=schema.names)
    if isinstance(data, list) and data and all(isinstance(r, list | tuple) for r in data) and schema.has_names:
        data = pd.DataFrame(data, columns=schema.names if len(data[0]) == len(schema.specs) else None)
    frame = to_dataframe(data)
    if schema.has_names:
        if _already_conforms(frame, schema):
            return frame
        columns = {str(c): c for c in frame.columns}
        missing = [s.name for s in schema.specs if isinstance(s, ColSpec) and s.required and s.name not in columns]
        if missing:
            raise InvalidInput(
                f"input is missing column {missing[0]!r}"
                + (f" (and {len(missing) - 1} more: {missing[1:]})" if len(missing) > 1 else "")
                + f"; the model signature expects columns {schema.names}"
            )
        out = {}
        for spec in schema.specs:
            assert isinstance(spec, ColSpec) and spec.name is not None
            if spec.name in columns:
                out[spec.name] = _convert_column(frame[columns[spec.name]], spec, repr(spec.name))
        return pd.DataFrame(out, index=frame.index)
    if len(frame.columns) != len(schema.specs):
        raise InvalidInput(
            f"input has {len(frame.columns)} columns but the model signature expects {len(schema.specs)}"
        )
    converted = {
        col: _convert_column(frame[col], spec, f"#{i}")  # type: ignore[arg-type]
        for i, (col, spec) in enumerate(zip(frame.columns, schema.specs, strict=True))
    }
    return pd.DataFrame(converted, index=frame.index)


def _already_conforms(frame: pd.DataFrame, schema: Schema) -> bool:
    """Fast path for the common case (the scoring server's single-row latency depends on it):
    exactly the signature's columns, in order, each already of the target dtype."""
    if list(frame.columns) != schema.names:
        return False
    for spec, dtype in zip(schema.specs, frame.dtypes.tolist(), strict=True):
        if not isinstance(spec, ColSpec) or spec.raw is not None:
            return False
        want = COLUMN_DTYPES.get(spec.type)
        if want is None or want == "object" or dtype != np.dtype(want):
            return False
    return True


def _enforce_tensor(spec: TensorSpec, data: Any, label: str) -> np.ndarray:
    # JSON and Python numbers carry no width: a list of floats may fill a float32 tensor
    from_python = not isinstance(data, np.ndarray)
    if isinstance(data, pd.DataFrame):
        data = data.to_numpy()
    try:
        array = np.asarray(data)
    except ValueError as exc:
        raise InvalidInput(f"input {label} is not a rectangular array: {exc}") from None
    want = np.dtype(spec.dtype)
    if array.dtype != want:
        ok = (
            (array.dtype.kind in "iu" and want.kind == "f")
            or (array.dtype.kind == want.kind and (from_python or array.dtype.itemsize <= want.itemsize))
            or (array.dtype.kind == "f" and want.kind in "iu" and bool(np.all(np.mod(array, 1) == 0)))
            or (array.dtype.kind in "OU" and want.kind in "OU")
        )
        if not ok:
            raise InvalidInput(f"input {label} has dtype {array.dtype} but the model signature expects {want}")
        array = array.astype(want)
    if spec.shape:
        if array.ndim == len(spec.shape) - 1 and spec.shape[0] == -1:
            array = array.reshape(1, *array.shape)  # one unbatched example
        if array.ndim != len(spec.shape) or any(
            want_dim not in (-1, got) for want_dim, got in zip(spec.shape, array.shape, strict=True)
        ):
            raise InvalidInput(f"input {label} has shape {array.shape} but the model signature expects {spec.shape}")
    return array


def enforce_schema(schema: Schema, data: Any) -> Any:
    """Validate and convert ``data`` to the schema; InvalidInput names the offending column or tensor."""
    if not schema.specs:
        return data
    if schema.is_tensor:
        tensors = [s for s in schema.specs if isinstance(s, TensorSpec)]
        if len(tensors) == 1 and tensors[0].name is None:
            return _enforce_tensor(tensors[0], data, "tensor")
        if not isinstance(data, dict):
            raise InvalidInput(f"input must be a mapping of tensors {[t.name for t in tensors]}")
        out = {}
        for spec in tensors:
            if spec.name not in data:
                raise InvalidInput(f"input is missing tensor {spec.name!r}")
            out[spec.name] = _enforce_tensor(spec, data[spec.name], repr(spec.name))
        return out
    return _enforce_columns(schema, data)


def enforce_params(specs: list[dict[str, Any]] | None, params: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fill defaults for declared params; unknown params are an error naming them."""
    if not specs:
        return params
    declared = {s["name"]: s for s in specs}
    unknown = sorted(set(params or {}) - set(declared))
    if unknown:
        raise InvalidInput(f"unknown params {unknown}; the model accepts {sorted(declared)}")
    merged = {name: spec.get("default") for name, spec in declared.items()}
    for name, value in (params or {}).items():
        merged[name] = _check_param(declared[name], value)
    return merged


def _check_param(spec: dict[str, Any], value: Any) -> Any:
    """``value`` as the param spec's type (a number of a narrower kind widens, as MLflow allows);
    InvalidInput names the param otherwise. ``shape: [-1]`` params are lists of that type."""
    if value is None:
        return None
    want = str(spec.get("type"))
    if spec.get("shape") and list(spec["shape"]) == [-1]:
        if not isinstance(value, list):
            raise InvalidInput(f"param {spec['name']!r} must be a list of {want}, got {value!r}")
        return [_check_param({**spec, "shape": None}, v) for v in value]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if want in _FLOAT_TYPES and number:
        return float(value)
    if want in _INTEGER_TYPES and isinstance(value, int) and not isinstance(value, bool):
        return value
    if (want == "boolean" and isinstance(value, bool)) or (want in ("string", "binary") and isinstance(value, str)):
        return value
    if want == "datetime" and isinstance(value, str):
        try:
            return pd.Timestamp(value).to_pydatetime()
        except ValueError:
            pass
    if want not in COLUMN_DTYPES:
        return value  # complex param types (objects) are passed through unchecked
    raise InvalidInput(f"param {spec['name']!r} must be of type {want}, got {value!r}")


# The scoring server's fast path ------------------------------------------------------------

# Signature types whose values arrive from JSON without loss as float64 / int64 arrays.
_ARRAY_DTYPES = {"double": np.dtype("float64"), "long": np.dtype("int64")}


@dataclass(frozen=True)
class PositionalRows:
    """Numeric rows already in the model's column order, as one 2-D array (see ArrayPlan)."""

    array: np.ndarray
    columns: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.array)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.array, columns=list(self.columns))


@dataclass(frozen=True)
class ArrayPlan:
    """How a table of plain numbers becomes the 2-D array of a model that only uses column
    positions (a stock sklearn estimator), without building a DataFrame.

    :meth:`from_rows` gives exactly what :func:`enforce_schema` followed by
    ``DataFrame.to_numpy()`` would, or None whenever the input is not that simple case (a
    string, a null, a fractional value in an integer column...): the caller then takes the
    general path, which converts what it can and names what it cannot.
    """

    columns: tuple[str, ...]
    dtype: np.dtype | None  # None: no signature, the array passes as JSON made it
    integer_positions: tuple[int, ...] = ()

    @classmethod
    def for_model(cls, schema: Schema | None, columns: list[str]) -> ArrayPlan | None:
        """The plan for a model taking ``columns`` by position, under its input ``schema``."""
        if schema is None:
            return cls(tuple(columns), None)
        specs = [s for s in schema.specs if isinstance(s, ColSpec) and s.raw is None and s.type in _ARRAY_DTYPES]
        if len(specs) != len(schema.specs) or schema.names != list(columns):
            return None
        types = [spec.type for spec in specs]
        dtype = _ARRAY_DTYPES["double"] if "double" in types else _ARRAY_DTYPES["long"]
        return cls(tuple(columns), dtype, tuple(i for i, t in enumerate(types) if t == "long"))

    def from_rows(self, columns: Any, rows: Any) -> PositionalRows | None:
        """``rows`` (a list of lists of JSON numbers) under the header ``columns``, or None."""
        if not isinstance(columns, list) or tuple(columns) != self.columns or not isinstance(rows, list) or not rows:
            return None
        try:
            array = np.array(rows)
        except (ValueError, TypeError):
            return None
        if array.ndim != 2 or array.shape[1] != len(self.columns) or array.dtype.kind not in "if":
            return None
        if self.dtype is None:
            return PositionalRows(array, self.columns)
        if array.dtype.kind == "f" and self.integer_positions:
            # 3.0 may fill a long column (nothing is lost), 3.5 may not
            if not bool(np.all(np.mod(array[:, list(self.integer_positions)], 1) == 0)):
                return None
        if array.dtype != self.dtype:
            array = array.astype(self.dtype)
        return PositionalRows(array, self.columns)
