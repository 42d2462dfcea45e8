"""User-code models: a PythonModel with declared artifacts and load_context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import trackflow.pyfunc
from trackflow.errors import InvalidInput


class Scaler(trackflow.pyfunc.PythonModel):
    def load_context(self, context: Any) -> None:
        self.factor = float(Path(context.artifacts["factor"]).read_text())
        self.words = sorted(p.name for p in Path(context.artifacts["vocab"]).iterdir())

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        offset = (params or {}).get("offset", 0)
        return (model_input["x"] * self.factor + offset).tolist()


class NoContext:
    def predict(self, model_input: Any) -> list[int]:
        return [len(model_input)]


def test_custom_model_with_artifacts(tmp_path: Path) -> None:
    (tmp_path / "factor.txt").write_text("2.5")
    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "a.txt").write_text("")
    trackflow.pyfunc.save_model(
        tmp_path / "m", Scaler(),
        artifacts={"factor": str(tmp_path / "factor.txt"), "vocab": str(tmp_path / "vocab")},
        input_example=pd.DataFrame({"x": [1.0, 2.0]}),
    )
    (tmp_path / "factor.txt").write_text("999")  # the model keeps its own copy
    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    assert loaded.predict(pd.DataFrame({"x": [2.0]})) == [5.0]
    assert loaded.predict({"x": 1}, params={"offset": 1}) == [3.5]
    assert loaded.unwrap_python_model().words == ["a.txt"]
    assert loaded.loader_module == "trackflow.pyfunc"


def test_plain_class_with_predict_only(tmp_path: Path) -> None:
    trackflow.pyfunc.save_model(tmp_path / "m", NoContext())
    assert trackflow.pyfunc.load_model(tmp_path / "m").predict([1, 2, 3]) == [3]


def test_missing_artifact_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="artifact 'w' points to"):
        trackflow.pyfunc.save_model(tmp_path / "m", Scaler(), artifacts={"w": str(tmp_path / "nope")})
