"""Signature inference from examples and enforcement at predict time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import trackflow.pyfunc
import trackflow.sklearn
from trackflow.errors import InvalidInput
from trackflow.models.signature import ModelSignature, enforce_schema, infer_schema, infer_signature


def test_infers_column_types() -> None:
    frame = pd.DataFrame({
        "i": np.array([1, 2], dtype="int64"), "i32": np.array([1, 2], dtype="int32"), "f": [0.5, 1.5],
        "f32": np.array([1, 2], dtype="float32"), "s": ["a", "b"], "b": [True, False],
        "t": pd.to_datetime(["2025-01-01", "2025-01-02"]),
    })
    specs = {s.name: s.type for s in infer_schema(frame).specs}
    assert specs == {"i": "long", "i32": "integer", "f": "double", "f32": "float", "s": "string",
                     "b": "boolean", "t": "datetime"}


def test_infers_tensor_shape_and_dtype() -> None:
    schema = infer_schema(np.zeros((5, 3, 2), dtype="float32"))
    assert schema.is_tensor
    spec = {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3, 2]}}
    assert json.loads(schema.to_json()) == [spec]


def test_round_trips_mlflow_signatures() -> None:
    import mlflow.models

    frame = pd.DataFrame({"x": [1.0], "name": ["a"]})
    theirs = mlflow.models.infer_signature(frame, np.array([1]))
    ours = ModelSignature.from_dict(theirs.to_dict())
    assert ours.inputs is not None and ours.inputs.names == ["x", "name"]
    assert mlflow.models.ModelSignature.from_dict(ours.to_dict()) == theirs


def test_missing_column_is_named() -> None:
    schema = infer_schema(pd.DataFrame({"a": [1.0], "b": [2.0]}))
    with pytest.raises(InvalidInput, match="missing column 'b'"):
        enforce_schema(schema, {"a": 1.0})


def test_wrong_type_is_named() -> None:
    schema = infer_schema(pd.DataFrame({"a": [1.0], "b": [2]}))
    with pytest.raises(InvalidInput, match="column 'a' has type .* expects double"):
        enforce_schema(schema, {"a": "high", "b": 1})
    with pytest.raises(InvalidInput, match="column 'b' .* expects long"):
        enforce_schema(schema, {"a": 1.0, "b": 2.5})


def test_lossless_conversions_reordering_and_extra_columns() -> None:
    schema = infer_schema(pd.DataFrame({"a": [1.0], "b": [2]}))
    out = enforce_schema(schema, pd.DataFrame({"extra": ["x"], "b": [3.0], "a": [1]}))
    assert list(out.columns) == ["a", "b"]
    assert out["a"].dtype == np.float64 and out["b"].dtype == np.int64
    rows = enforce_schema(schema, [[1.5, 2], [2.5, 3]])
    assert rows["b"].tolist() == [2, 3]


def test_tensor_enforcement() -> None:
    schema = infer_schema(np.zeros((2, 3), dtype="float64"))
    assert enforce_schema(schema, [[1, 2, 3]]).dtype == np.float64
    assert enforce_schema(schema, [1, 2, 3]).shape == (1, 3)
    with pytest.raises(InvalidInput, match=r"shape \(1, 2\) .* expects \(-1, 3\)"):
        enforce_schema(schema, [[1, 2]])
    with pytest.raises(InvalidInput, match="dtype <U1 .* expects float64"):
        enforce_schema(schema, [["a", "b", "c"]])


def test_predict_accepts_dataframe_array_dict_and_list(tmp_path: Path, iris) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "m", input_example=X[:2])
    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    expected = model.predict(X[:1]).tolist()
    row = X.iloc[0].to_dict()
    for data in (X[:1], X.to_numpy()[:1], row, [row], [list(row.values())], {k: [v] for k, v in row.items()}):
        assert loaded.predict(data).tolist() == expected, data
    with pytest.raises(InvalidInput, match="missing column 'petal width \\(cm\\)'"):
        loaded.predict({k: v for k, v in row.items() if k != "petal width (cm)"})


def test_signature_params_get_defaults_and_unknown_params_fail() -> None:
    sig = infer_signature(pd.DataFrame({"a": [1]}), params={"k": 3})
    assert sig.params == [{"name": "k", "type": "long", "default": 3, "shape": None}]
    from trackflow.models.signature import enforce_params

    assert enforce_params(sig.params, None) == {"k": 3}
    with pytest.raises(InvalidInput, match=r"unknown params \['z'\]"):
        enforce_params(sig.params, {"z": 1})
