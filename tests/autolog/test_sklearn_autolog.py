"""sklearn autologging against a real embedded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import trackflow
from trackflow.tracking import fluent

sklearn = pytest.importorskip("sklearn")


@pytest.fixture
def tracking(tmp_path: Path) -> Iterator[trackflow.Client]:
    trackflow.set_tracking_uri(f"sqlite:///{tmp_path / 'autolog.db'}")
    trackflow.sklearn.autolog()
    yield trackflow.Client()
    trackflow.sklearn.autolog(disable=True)
    while fluent.active_run():
        fluent.end_run()


def test_fit_logs_params_metrics_and_a_loadable_model(tracking: trackflow.Client) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    trackflow.set_experiment("autolog")
    LogisticRegression(max_iter=300, C=0.5).fit(X, y)

    [run] = trackflow.search_runs(experiment_names=["autolog"], output_format="list")
    assert run.info.status.value == "FINISHED"
    assert run.data.params["C"] == "0.5"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert 0.9 < run.data.metrics["training_accuracy_score"] <= 1.0
    assert "training_log_loss" in run.data.metrics
    names = {f.path for f in tracking.list_artifacts(run.info.run_id, "model")}
    assert "model/MLmodel" in names
    model = trackflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert list(model.predict(X.head(3))) == list(LogisticRegression(max_iter=300, C=0.5).fit(X, y).predict(X.head(3)))


def test_regressor_metrics_and_nested_fits_are_one_run(tracking: trackflow.Client) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_diabetes(return_X_y=True)
    trackflow.set_experiment("autolog-reg")
    make_pipeline(StandardScaler(), Ridge()).fit(X, y)

    runs = trackflow.search_runs(experiment_names=["autolog-reg"], output_format="list")
    assert len(runs) == 1  # the scaler's and ridge's own fits are part of the pipeline's run
    metrics = runs[0].data.metrics
    assert {"training_r2_score", "training_mean_squared_error", "training_root_mean_squared_error"} <= set(metrics)
    assert metrics["training_root_mean_squared_error"] == pytest.approx(metrics["training_mean_squared_error"] ** 0.5)


def test_fit_inside_an_active_run_logs_there_and_failure_marks_failed(tracking: trackflow.Client) -> None:
    from sklearn.linear_model import LogisticRegression

    trackflow.set_experiment("autolog-fail")
    with trackflow.start_run() as run:
        LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert tracking.get_run(run.info.run_id).data.params["C"] == "1.0"

    with pytest.raises(ValueError):
        LogisticRegression().fit([[0.0], [1.0]], [0, 0])  # a single class cannot be fitted
    failed = trackflow.search_runs(experiment_names=["autolog-fail"], filter_string="attributes.status = 'FAILED'")
    assert len(failed) == 1
