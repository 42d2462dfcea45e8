"""sklearn autologging against a real embedded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import trackflow
from trackflow.models.uri import download_model
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
    # wherever log_model keeps it (run artifacts or a LoggedModel), runs:/<run>/model finds it
    assert (download_model(f"runs:/{run.info.run_id}/model") / "MLmodel").is_file()
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


def test_disable_puts_every_original_method_back(tracking: trackflow.Client) -> None:
    import inspect

    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    trackflow.sklearn.autolog(disable=True)
    before = {
        (cls, name): inspect.getattr_static(cls, name, None)
        for cls in (LogisticRegression, RandomForestClassifier, Pipeline)
        for name in ("fit", "fit_transform", "fit_predict")
    }
    assert "fit" not in RandomForestClassifier.__dict__  # inherited from BaseForest
    trackflow.sklearn.autolog()
    assert "fit" in RandomForestClassifier.__dict__
    assert inspect.getattr_static(LogisticRegression, "fit") is not before[(LogisticRegression, "fit")]
    trackflow.sklearn.autolog(disable=True)
    after = {key: inspect.getattr_static(key[0], key[1], None) for key in before}
    assert after == before
    assert "fit" not in RandomForestClassifier.__dict__

    trackflow.set_experiment("autolog-disabled")
    LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    assert trackflow.search_runs(experiment_names=["autolog-disabled"], output_format="list") == []


def test_a_failed_fit_keeps_its_params_and_reraises(tracking: trackflow.Client) -> None:
    from sklearn.ensemble import RandomForestClassifier

    trackflow.set_experiment("autolog-raise")
    with pytest.raises(ValueError, match="n_estimators"):
        RandomForestClassifier(n_estimators=-1).fit([[0.0], [1.0]], [0, 1])
    [run] = trackflow.search_runs(experiment_names=["autolog-raise"], output_format="list")
    assert run.info.status.value == "FAILED"
    assert run.data.params["n_estimators"] == "-1"  # params are logged before training
    assert run.data.metrics == {}
    assert fluent.active_run() is None


def test_fit_transform_and_fit_predict_are_one_run_each(tracking: trackflow.Client) -> None:
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    X = np.random.default_rng(0).normal(size=(30, 4))
    trackflow.set_experiment("autolog-fit-variants")
    PCA(n_components=2).fit_transform(X)  # fit_transform calls fit: still one run
    KMeans(n_clusters=2, n_init=1, random_state=0).fit_predict(X)
    runs = trackflow.search_runs(experiment_names=["autolog-fit-variants"], output_format="list")
    assert sorted(run.data.tags["estimator_name"] for run in runs) == ["KMeans", "PCA"]
    pca_run = next(run for run in runs if run.data.tags["estimator_name"] == "PCA")
    model = trackflow.pyfunc.load_model(f"runs:/{pca_run.info.run_id}/model")
    assert model.predict(X[:3]).shape == (3, 2)  # a transformer's model predicts by transform


def test_threads_and_cross_validation_helpers_log_only_the_outer_fit(tracking: trackflow.Client) -> None:
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    trackflow.set_experiment("autolog-threads")
    # the forest fits its trees on joblib threads: those fits are part of the forest's run
    RandomForestClassifier(n_estimators=4, n_jobs=2, random_state=0).fit(X, y)
    assert len(trackflow.search_runs(experiment_names=["autolog-threads"], output_format="list")) == 1

    import sklearn.model_selection

    trackflow.set_experiment("autolog-cv")
    scores = sklearn.model_selection.cross_val_score(LogisticRegression(max_iter=300), X, y, cv=3)
    assert len(scores) == 3
    assert trackflow.search_runs(experiment_names=["autolog-cv"], output_format="list") == []


def test_grid_search_child_runs_carry_each_candidate(tracking: trackflow.Client) -> None:
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    trackflow.sklearn.autolog(max_tuning_runs=2)
    trackflow.set_experiment("autolog-grid")
    search = GridSearchCV(SVC(), {"C": [0.01, 1.0, 10.0]}, cv=3).fit(X, y)

    runs = trackflow.search_runs(experiment_names=["autolog-grid"], output_format="list")
    [parent] = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 2  # max_tuning_runs
    assert parent.data.params["best_C"] == str(search.best_params_["C"])
    assert "kernel" not in parent.data.params  # the seed estimator's untuned params are not the search's
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    best_two = sorted(
        search.cv_results_["params"],
        key=lambda p: -search.cv_results_["mean_test_score"][search.cv_results_["params"].index(p)],
    )[:2]
    assert sorted(child.data.params["C"] for child in children) == sorted(str(p["C"]) for p in best_two)
    for child in children:
        assert child.info.status.value == "FINISHED"
        assert child.data.tags["estimator_name"] == "SVC"
        assert child.data.params["kernel"] == "rbf"  # the seed's params complete each candidate's
        assert {"mean_test_score", "std_test_score", "rank_test_score", "mean_fit_time"} <= set(child.data.metrics)
        assert not any(key.startswith("split") for key in child.data.metrics)
    best = trackflow.pyfunc.load_model(f"runs:/{parent.info.run_id}/best_estimator")
    assert list(best.predict(X[:5])) == list(search.best_estimator_.predict(X[:5]))


def test_options_input_example_exclusive_extra_tags_and_bad_arguments(tracking: trackflow.Client) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    from trackflow.errors import InvalidInput
    from trackflow.models.format import load_input_example

    X, y = load_iris(return_X_y=True, as_frame=True)
    trackflow.sklearn.autolog(log_input_examples=True, extra_tags={"team": "search"})
    trackflow.set_experiment("autolog-options")
    LogisticRegression(max_iter=300).fit(X, y)
    [run] = trackflow.search_runs(experiment_names=["autolog-options"], output_format="list")
    assert run.data.tags["team"] == "search"
    example = load_input_example(download_model(f"runs:/{run.info.run_id}/model"))
    assert list(example.columns) == list(X.columns) and len(example) == 5
    model = trackflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert [spec.name for spec in model.metadata.signature.inputs.specs] == list(X.columns)

    trackflow.sklearn.autolog(exclusive=True)
    with trackflow.start_run() as user_run:
        LogisticRegression(max_iter=300).fit(X, y)
    assert tracking.get_run(user_run.info.run_id).data.params == {}

    with pytest.raises(InvalidInput, match="max_tuning_runs"):
        trackflow.sklearn.autolog(max_tuning_runs=-1)
    with pytest.raises(InvalidInput, match="skops"):
        trackflow.sklearn.autolog(serialization_format="skops")


def test_post_training_metrics_land_in_the_fit_run(tracking: trackflow.Client) -> None:
    import json

    import sklearn.metrics
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    X_train, y_train, X_test, y_test = X[::2], y[::2], X[1::2], y[1::2]
    trackflow.set_experiment("autolog-post")
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    y_pred = model.predict(X_test)
    accuracy = sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.accuracy_score(y_test, model.predict(X_train[:75]))  # another dataset, no name
    score = model.score(X_test, y_test)  # calls predict and accuracy_score inside: logged once
    sklearn.metrics.accuracy_score(y_test, y_test)  # not a prediction of an autologged model

    [run] = trackflow.search_runs(experiment_names=["autolog-post"], output_format="list")
    post = {k: v for k, v in run.data.metrics.items() if not k.startswith("training_")}
    assert post == {
        "accuracy_score_X_test": pytest.approx(accuracy),
        "accuracy_score-2_unknown_dataset": pytest.approx(
            sklearn.metrics.accuracy_score(y_test, model.predict(X_train[:75]))
        ),
        "LogisticRegression_score_X_test": pytest.approx(score),
    }
    info = json.loads(Path(tracking.download_artifacts(run.info.run_id, "metric_info.json")).read_text())
    assert info["accuracy_score_X_test"] == "accuracy_score(y_true=y_test, y_pred=y_pred)"
    assert info["LogisticRegression_score_X_test"] == "LogisticRegression.score(X=X_test, y=y_test)"

    trackflow.sklearn.autolog(log_post_training_metrics=False)
    trackflow.set_experiment("autolog-post-off")
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    model.score(X_test, y_test)
    sklearn.metrics.accuracy_score(y_test, model.predict(X_test))
    [run] = trackflow.search_runs(experiment_names=["autolog-post-off"], output_format="list")
    assert all(key.startswith("training_") for key in run.data.metrics)


def test_an_unreachable_tracking_server_does_not_stop_training(
    tracking: trackflow.Client, caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LogisticRegression

    from servers import free_port

    trackflow.set_tracking_uri(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    try:
        model = LogisticRegression().fit([[0.0], [1.0]], [0, 1])
    finally:
        trackflow.set_tracking_uri(tracking.tracking_uri)
    assert list(model.predict([[1.0]])) == [1]
    assert "could not start a run" in caplog.text
    assert fluent.active_run() is None
