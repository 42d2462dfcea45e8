"""Differential tests: unchanged MLflow 3.17.2 user code (tests/mlflow_diff/flows/*.py, run with the
peer's own ``mlflow``) against a real ``mlflow server`` and a real ``trackflow server``; only
``MLFLOW_TRACKING_URI`` differs. Each script prints what it observed (statuses, which artifacts
exist, metrics, whether predictions match, relations between ids); the two outcomes must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flow_helpers import FLOWS, run_flow, unique

from peers import run_peer_script


def test_sklearn_log_model_register_and_load_by_every_uri(
    mlflow_server: str, running_server: str, tmp_path: Path
) -> None:
    expected, actual = run_flow(
        "sklearn_register_load.py", mlflow_server, running_server, tmp_path, unique("flow"), unique("iris")
    )
    assert expected["predictions_match"] == {"model_uri": True, "version": True, "alias": True, "runs": True}
    assert expected["logged_model"]["status"] == "READY" and expected["run_outputs"] == [[True, 0]]
    assert actual == expected


def test_custom_pyfunc_register_model_and_logged_model_apis(
    mlflow_server: str, running_server: str, tmp_path: Path
) -> None:
    expected, actual = run_flow(
        "pyfunc_custom.py", mlflow_server, running_server, tmp_path, unique("flow"), unique("adder")
    )
    assert expected["predictions"] == [3.0, 4.0, 5.0] and expected["search"]["by name"] == [2]
    assert actual == expected


def test_evaluate_a_logged_model_uri(mlflow_server: str, running_server: str, tmp_path: Path) -> None:
    expected, actual = run_flow("evaluate_classifier.py", mlflow_server, running_server, tmp_path, unique("flow"))
    assert expected["metrics"]["accuracy_score"] > 0.9
    assert actual == expected


def test_mlflow_sklearn_autolog(mlflow_server: str, running_server: str, tmp_path: Path) -> None:
    expected, actual = run_flow("sklearn_autolog.py", mlflow_server, running_server, tmp_path, unique("flow"))
    assert expected["predictions_match"] and expected["signature"] and expected["models"]
    assert actual == expected


def test_models_logged_by_trackflow_are_logged_models_for_mlflow(
    running_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trackflow's own ``log_model`` (remote mode) makes a LoggedModel that the official client finds
    with ``search_logged_models`` and loads by ``models:/<model_id>`` and ``runs:/<run_id>/<name>``.
    One-sided: an MLflow server has no /api/v1 for trackflow's client to log to."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import trackflow.sklearn
    from trackflow.tracking import fluent

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    experiment = unique("tf-logged")
    from trackflow.tracking import backend

    # The fluent API keeps process state: give it a copy for this test and restore the default URI.
    monkeypatch.setattr(fluent, "_state", {**fluent._state, "client": None})
    monkeypatch.setattr(backend, "_default_tracking_uri", list(backend._default_tracking_uri))
    fluent.set_tracking_uri(running_server)
    fluent.set_experiment(experiment)
    with fluent.start_run():
        fluent.log_param("C", 1.0)
        fluent.log_metric("acc", 0.97)
        info = trackflow.sklearn.log_model(model, name="clf", input_example=X[:2])
    assert info.model_uri == f"models:/{info.model_id}"
    found = run_peer_script(FLOWS / "find_logged_models.py", running_server, experiment, cwd=tmp_path)
    expected = model.predict(X[:5]).tolist()
    assert found == [
        {
            "name": "clf",
            "status": "READY",
            "params": {"C": "1.0"},
            "metrics": ["acc"],
            "run_outputs": [True],
            "predictions": expected,
            "by_run": expected,
        }
    ]


def test_tracking_quickstart(mlflow_server: str, running_server: str, tmp_path: Path) -> None:
    expected, actual = run_flow("tracking_quickstart.py", mlflow_server, running_server, tmp_path, unique("flow"))
    assert expected["history"] == [[0, 1.0], [1, 0.5], [2, 1.0 / 3]] and expected["child_parent"]
    assert "images" in expected["artifacts"] and expected["dict"] == {"a": 1}
    assert actual == expected
