"""The model directory trackflow writes: MLflow's layout, key for key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import trackflow.pyfunc
import trackflow.sklearn
from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.models.format import Model, load_input_example


def test_sklearn_model_directory_matches_mlflow_layout(tmp_path: Path, iris) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "m", input_example=X[:3])
    files = {p.name for p in (tmp_path / "m").iterdir()}
    assert files == {
        "MLmodel", "model.pkl", "input_example.json", "serving_input_example.json",
        "requirements.txt", "python_env.yaml", "conda.yaml",
    }
    manifest = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    pyfunc = manifest["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "mlflow.sklearn"
    assert pyfunc["model_path"] == "model.pkl"
    assert pyfunc["env"] == {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    assert manifest["flavors"]["sklearn"]["serialization_format"] == "cloudpickle"
    assert manifest["flavors"]["sklearn"]["pickled_model"] == "model.pkl"
    assert len(manifest["model_uuid"]) == 32 and manifest["utc_time_created"]
    inputs = json.loads(manifest["signature"]["inputs"])
    assert inputs[0] == {"type": "double", "name": "sepal length (cm)", "required": True}
    assert json.loads(manifest["signature"]["outputs"]) == [{"type": "long", "required": True}]
    assert manifest["saved_input_example_info"]["type"] == "dataframe"
    serving = json.loads((tmp_path / "m" / "serving_input_example.json").read_text())
    assert serving["dataframe_split"]["columns"] == list(X.columns)


def test_requirements_are_pinned_to_installed_versions(tmp_path: Path, iris) -> None:
    import sklearn

    trackflow.sklearn.save_model(iris[2], tmp_path / "m")
    requirements = (tmp_path / "m" / "requirements.txt").read_text().split()
    assert f"scikit-learn=={sklearn.__version__}" in requirements
    assert any(r.startswith("cloudpickle==") for r in requirements)
    env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert env["dependencies"] == ["-r requirements.txt"]


def test_input_example_round_trips(tmp_path: Path, iris) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "df", input_example=X[:2])
    assert load_input_example(tmp_path / "df").equals(X[:2].reset_index(drop=True))
    trackflow.sklearn.save_model(model, tmp_path / "np", input_example=X.to_numpy()[:2])
    np.testing.assert_array_equal(load_input_example(tmp_path / "np"), X.to_numpy()[:2])
    manifest = Model.load(tmp_path / "np")
    assert manifest.signature is not None and manifest.signature.inputs is not None
    assert manifest.signature.inputs.is_tensor


def test_saving_refuses_a_non_empty_directory(tmp_path: Path, iris) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("x")
    with pytest.raises(AlreadyExists, match="not empty"):
        trackflow.sklearn.save_model(iris[2], tmp_path / "m")
    assert (tmp_path / "m" / "keep.txt").read_text() == "x"


def test_bad_arguments_name_the_problem(tmp_path: Path, iris) -> None:
    with pytest.raises(InvalidInput, match="serialization_format 'skops'"):
        trackflow.sklearn.save_model(iris[2], tmp_path / "a", serialization_format="skops")
    with pytest.raises(InvalidInput, match="no method 'predict'"):
        trackflow.sklearn.save_model(object(), tmp_path / "b")
    with pytest.raises(NotFound, match="no model at"):
        trackflow.pyfunc.load_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(NotFound, match="no MLmodel file"):
        trackflow.pyfunc.load_model(tmp_path / "empty")


def test_broken_manifest_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "MLmodel").write_text("flavors: [unclosed")
    with pytest.raises(InvalidInput, match="not valid YAML"):
        trackflow.pyfunc.load_model(tmp_path / "m")
    (tmp_path / "m" / "MLmodel").write_text("flavors:\n  sklearn: {pickled_model: model.pkl}\n")
    with pytest.raises(InvalidInput, match="no 'python_function' flavor"):
        trackflow.pyfunc.load_model(tmp_path / "m")


def test_save_without_signature(tmp_path: Path, iris) -> None:
    X, _, model = iris
    trackflow.sklearn.save_model(model, tmp_path / "m", input_example=X[:2], signature=False)
    assert Model.load(tmp_path / "m").signature is None
    assert list(trackflow.pyfunc.load_model(tmp_path / "m").predict(X[:2])) == list(model.predict(X[:2]))
