"""Differential tests: unchanged MLflow 3.17.2 user code (tests/mlflow_diff/flows/*.py, run with the
peer's own ``mlflow``) against a real ``mlflow server`` and a real ``trackflow server``; only
``MLFLOW_TRACKING_URI`` differs. Each script prints what it observed (statuses, which artifacts
exist, metrics, whether predictions match, relations between ids); the two outcomes must be equal.
"""

from __future__ import annotations

from pathlib import Path

from flow_helpers import run_flow, unique


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
