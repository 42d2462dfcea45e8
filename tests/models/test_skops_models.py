"""MLflow 3 saves sklearn models with skops by default: they load, predict and serve in trackflow
unchanged, and skops' trust rules hold (only declared, sklearn/numpy/scipy or opted-in types)."""

from __future__ import annotations

import operator
import socket
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import yaml

import trackflow.pyfunc
import trackflow.sklearn
from trackflow.errors import InvalidInput

mlflow = pytest.importorskip("mlflow")
pytest.importorskip("skops")


def _save_with_mlflow_defaults(model: Any, path: Path, **kwargs: Any) -> dict[str, Any]:
    import mlflow.sklearn

    mlflow.sklearn.save_model(model, str(path), **kwargs)
    return dict(yaml.safe_load((path / "MLmodel").read_text())["flavors"]["sklearn"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_mlflow_default_skops_model_loads_predicts_and_serves(tmp_path: Path, iris) -> None:
    import uvicorn

    from trackflow.serving.app import create_scoring_app

    X, _, model = iris
    flavor = _save_with_mlflow_defaults(model, tmp_path / "m", input_example=X[:3])
    assert flavor["serialization_format"] == "skops"  # what MLflow writes when nothing is asked
    expected = model.predict(X[:10])

    loaded = trackflow.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X[:10]), expected)
    np.testing.assert_array_equal(loaded.predict(X[:10].to_numpy()), expected)
    np.testing.assert_array_equal(trackflow.sklearn.load_model(str(tmp_path / "m")).predict(X[:10]), expected)

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_scoring_app(loaded), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "scoring server did not start"
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        assert requests.get(f"{url}/ping", timeout=5).status_code == 200
        rows = X[:4]
        answer = requests.post(
            f"{url}/invocations",
            json={"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"predictions": expected[:4].tolist()}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_sklearn_internal_types_are_trusted(tmp_path: Path, iris) -> None:
    """Tree ensembles hold sklearn.tree._tree.Tree, which skops itself reports as untrusted."""
    from sklearn.ensemble import RandomForestClassifier

    X, y, _ = iris
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    _save_with_mlflow_defaults(forest, tmp_path / "rf", skops_trusted_types=["sklearn.tree._tree.Tree"])
    manifest = yaml.safe_load((tmp_path / "rf" / "MLmodel").read_text())
    manifest["flavors"]["sklearn"]["skops_trusted_types"] = None  # trusted without being declared
    (tmp_path / "rf" / "MLmodel").write_text(yaml.safe_dump(manifest))
    loaded = trackflow.pyfunc.load_model(tmp_path / "rf")
    np.testing.assert_array_equal(loaded.predict(X[:10]), forest.predict(X[:10]))


def test_other_types_need_a_declaration_or_an_opt_in(tmp_path: Path, iris) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, y, _ = iris
    pipeline = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression(max_iter=300)).fit(X, y)
    expected = pipeline.predict(X[:5])
    # MLflow records the types its caller trusted; trackflow trusts them the same way
    flavor = _save_with_mlflow_defaults(pipeline, tmp_path / "m", skops_trusted_types=["_operator.neg"])
    assert flavor["skops_trusted_types"] == ["_operator.neg"]
    np.testing.assert_array_equal(trackflow.pyfunc.load_model(tmp_path / "m").predict(X[:5]), expected)

    manifest = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    manifest["flavors"]["sklearn"]["skops_trusted_types"] = None
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump(manifest))
    with pytest.raises(InvalidInput, match=r"_operator\.neg"):
        trackflow.pyfunc.load_model(tmp_path / "m")
    raw = trackflow.sklearn.load_model(str(tmp_path / "m"), skops_trusted_types=["_operator.neg"])
    np.testing.assert_array_equal(raw.predict(X[:5]), expected)


def test_a_broken_skops_file_is_a_clear_error(tmp_path: Path, iris) -> None:
    X, _, model = iris
    _save_with_mlflow_defaults(model, tmp_path / "m")
    (tmp_path / "m" / "model.skops").write_bytes(b"not a zip file")
    with pytest.raises(InvalidInput, match="not a readable skops file"):
        trackflow.pyfunc.load_model(tmp_path / "m")


def test_library_classes_with_side_effects_are_not_trusted(tmp_path: Path, iris) -> None:
    """numpy's DataSource deletes the directory named in its state when collected: a skops file
    holding one must be refused although it is a numpy class."""
    import skops.io

    X, _, model = iris
    _save_with_mlflow_defaults(model, tmp_path / "m")
    victim = tmp_path / "victim"
    victim.mkdir()
    source = np.lib.npyio.DataSource(str(victim))
    skops.io.dump({"model": model, "source": source}, tmp_path / "m" / "model.skops")
    untrusted = skops.io.get_untrusted_types(file=tmp_path / "m" / "model.skops")
    assert any(name.endswith("DataSource") for name in untrusted)
    with pytest.raises(InvalidInput, match="DataSource"):
        trackflow.pyfunc.load_model(tmp_path / "m")
    assert victim.is_dir()
