"""Both directions with the real mlflow package: MLflow models load in trackflow, and
trackflow models load with mlflow.pyfunc.load_model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import trackflow.pyfunc
import trackflow.sklearn

mlflow = pytest.importorskip("mlflow")
pytestmark = pytest.mark.usefixtures("mlflow_unpickling")


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle"])
@pytest.mark.parametrize("as_numpy", [False, True])
def test_mlflow_sklearn_model_loads_in_trackflow(tmp_path: Path, iris, fmt: str, as_numpy: bool) -> None:
    import mlflow.sklearn

    X, _, model = iris
    example = X.to_numpy()[:3] if as_numpy else X[:3]
    mlflow.sklearn.save_model(model, str(tmp_path / "m"), input_example=example, serialization_format=fmt)
    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    expected = model.predict(X[:10])
    np.testing.assert_array_equal(loaded.predict(X[:10].to_numpy() if as_numpy else X[:10]), expected)
    raw = trackflow.sklearn.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(raw.predict(X[:10]), expected)


def test_trackflow_sklearn_model_loads_in_mlflow(tmp_path: Path, iris) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "m", input_example=X[:3])
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.predict(X[:10]), model.predict(X[:10]))
    assert loaded.metadata.get_input_schema().input_names() == list(X.columns)
    raw = mlflow.sklearn.load_model(str(tmp_path / "m"))
    np.testing.assert_array_equal(raw.predict(X[:5]), model.predict(X[:5]))


class Echo(trackflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        self.prefix = Path(context.artifacts["prefix"]).read_text().strip()

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> list[str]:
        suffix = (params or {}).get("suffix", "")
        return [f"{self.prefix}{v}{suffix}" for v in model_input["text"]]


def test_trackflow_custom_model_loads_in_mlflow(tmp_path: Path) -> None:
    (tmp_path / "prefix.txt").write_text("pre-")
    trackflow.pyfunc.save_model(
        tmp_path / "m", Echo(), artifacts={"prefix": str(tmp_path / "prefix.txt")},
        input_example=pd.DataFrame({"text": ["a", "b"]}),
    )
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "m"))
    assert list(loaded.predict(pd.DataFrame({"text": ["x"]}))) == ["pre-x"]


def test_mlflow_custom_model_with_artifacts_loads_in_trackflow(tmp_path: Path) -> None:
    class Upper(mlflow.pyfunc.PythonModel):
        def load_context(self, context: Any) -> None:
            self.greeting = Path(context.artifacts["greeting"]).read_text()

        def predict(self, context: Any, model_input: Any, params: Any = None) -> list[str]:
            return [f"{self.greeting} {v.upper()}" for v in model_input["name"]]

    (tmp_path / "greeting.txt").write_text("hello")
    mlflow.pyfunc.save_model(
        str(tmp_path / "m"), python_model=Upper(), artifacts={"greeting": str(tmp_path / "greeting.txt")},
        input_example=pd.DataFrame({"name": ["ann"]}),
    )
    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    assert list(loaded.predict({"name": "bob"})) == ["hello BOB"]
    assert list(loaded.predict([{"name": "cy"}, {"name": "di"}])) == ["hello CY", "hello DI"]
