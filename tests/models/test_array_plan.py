"""The scoring fast path (ArrayPlan) gives exactly what the general path gives, or steps aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trackflow.sklearn
from trackflow.errors import InvalidInput
from trackflow.models.pyfunc import load_local
from trackflow.models.signature import ArrayPlan, ColSpec, PositionalRows, Schema, TensorSpec
from trackflow.serving.payload import parse_request


def _schema(*specs: tuple[str, str]) -> Schema:
    return Schema(tuple(ColSpec(type_, name) for name, type_ in specs))


def test_plan_needs_the_model_columns_in_order_and_plain_numeric_types() -> None:
    assert ArrayPlan.for_model(_schema(("a", "double"), ("b", "long")), ["a", "b"]) is not None
    assert ArrayPlan.for_model(_schema(("a", "double"), ("b", "long")), ["b", "a"]) is None
    assert ArrayPlan.for_model(_schema(("a", "double"), ("b", "string")), ["a", "b"]) is None
    assert ArrayPlan.for_model(_schema(("a", "float")), ["a"]) is None  # float32 rounding: general path
    assert ArrayPlan.for_model(Schema((TensorSpec("float64", (-1, 2)),)), ["a", "b"]) is None
    assert ArrayPlan.for_model(None, ["a", "b"]) == ArrayPlan(("a", "b"), None)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([[1, 2]], np.array([[1.0, 2.0]])),  # ints fill a double column
        ([[1.5, 2.0]], np.array([[1.5, 2.0]])),  # 2.0 fills a long column
    ],
)
def test_rows_convert_like_the_signature(rows: list[Any], expected: np.ndarray) -> None:
    plan = ArrayPlan.for_model(_schema(("a", "double"), ("b", "long")), ["a", "b"])
    assert plan is not None
    out = plan.from_rows(["a", "b"], rows)
    assert isinstance(out, PositionalRows)
    np.testing.assert_array_equal(out.array, expected)
    assert out.array.dtype == np.float64
    pd.testing.assert_frame_equal(out.to_frame(), pd.DataFrame(expected, columns=["a", "b"]))


@pytest.mark.parametrize(
    ("columns", "rows"),
    [
        (["a", "b"], [[1.0, 2.5]]),  # fractional value in a long column
        (["a", "b"], [[1.0, None]]),
        (["a", "b"], [["x", 1]]),
        (["b", "a"], [[1.0, 2.0]]),
        (["a"], [[1.0]]),
        (["a", "b"], [[1.0, 2.0], [1.0]]),
        (["a", "b"], []),
        (None, [[1.0, 2.0]]),
    ],
)
def test_anything_else_takes_the_general_path(columns: Any, rows: Any) -> None:
    plan = ArrayPlan.for_model(_schema(("a", "double"), ("b", "long")), ["a", "b"])
    assert plan is not None and plan.from_rows(columns, rows) is None


def test_all_long_columns_stay_integers() -> None:
    plan = ArrayPlan.for_model(_schema(("a", "long"), ("b", "long")), ["a", "b"])
    assert plan is not None
    out = plan.from_rows(["a", "b"], [[1.0, 2.0]])
    assert out is not None and out.array.dtype == np.int64


def test_sklearn_model_predicts_the_same_on_both_paths(tmp_path: Path, iris: Any) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "m", input_example=X[:3])
    loaded = load_local(tmp_path / "m")
    assert loaded.array_plan is not None and list(loaded.array_plan.columns) == list(X.columns)
    schema = loaded.metadata.signature.inputs if loaded.metadata.signature else None
    rows = X[:20].to_numpy().tolist()
    body = pd.DataFrame(rows, columns=X.columns).to_json(orient="split", index=False).encode()
    body = b'{"dataframe_split": ' + body + b"}"
    fast, _ = parse_request(body, "application/json", schema, loaded.array_plan)
    slow, _ = parse_request(body, "application/json", schema)
    assert isinstance(fast, PositionalRows) and isinstance(slow, pd.DataFrame)
    np.testing.assert_array_equal(loaded.predict_rows(fast), loaded.predict(slow))
    np.testing.assert_array_equal(loaded.predict_rows(fast), model.predict(X[:20]))
    # a wrong type still gets the general path's error naming the column
    bad = b'{"dataframe_split": {"columns": ' + pd.Series(list(X.columns)).to_json(orient="values").encode()
    bad += b', "data": [["big", 1, 1, 1]]}}'
    with pytest.raises(InvalidInput, match="sepal length"):
        parse_request(bad, "application/json", schema, loaded.array_plan)
