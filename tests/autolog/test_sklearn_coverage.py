"""Every estimator in ``sklearn.utils.all_estimators()`` is autologged, or named here with the
reason it is not: each one is built, fitted on a small dataset of its kind, and its run is
checked for params, tags, training metrics, artifacts and a model that predicts as it does."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn_cases import Case, all_cases, all_estimator_names  # noqa: E402

import trackflow  # noqa: E402
from trackflow.errors import NotFound  # noqa: E402
from trackflow.models.uri import download_model  # noqa: E402
from trackflow.tracking import fluent  # noqa: E402

# Not patched, as mlflow.sklearn.autolog() does not patch them: they prepare data rather than
# learn a model (sklearn.preprocessing, .impute, .feature_extraction, .feature_selection, and
# ColumnTransformer). Fitted inside a Pipeline they are part of its run.
NOT_PATCHED_LIKE_MLFLOW = {
    "Binarizer", "ColumnTransformer", "CountVectorizer", "DictVectorizer", "FeatureHasher",
    "FunctionTransformer", "GenericUnivariateSelect", "HashingVectorizer", "KBinsDiscretizer",
    "KNNImputer", "KernelCenterer", "LabelBinarizer", "LabelEncoder", "MaxAbsScaler", "MinMaxScaler",
    "MissingIndicator", "MultiLabelBinarizer", "Normalizer", "OneHotEncoder", "OrdinalEncoder",
    "PatchExtractor", "PolynomialFeatures", "PowerTransformer", "QuantileTransformer", "RFE", "RFECV",
    "RobustScaler", "SelectFdr", "SelectFpr", "SelectFromModel", "SelectFwe", "SelectKBest",
    "SelectPercentile", "SequentialFeatureSelector", "SimpleImputer", "SplineTransformer",
    "StandardScaler", "TargetEncoder", "TfidfTransformer", "TfidfVectorizer", "VarianceThreshold",
}  # fmt: skip

# Logged without a model: they have neither predict nor transform, so nothing in them scores
# new data, and trackflow's sklearn flavor needs such a method (MLflow logs a model that only
# mlflow.sklearn.load_model can read; see docs/mlflow-differences.md).
NO_MODEL = {
    "AgglomerativeClustering", "ClassicalMDS", "DBSCAN", "EmpiricalCovariance", "GraphicalLasso",
    "GraphicalLassoCV", "HDBSCAN", "KernelDensity", "LedoitWolf", "MDS", "MinCovDet", "NearestNeighbors",
    "OAS", "OPTICS", "ShrunkCovariance", "LocalOutlierFactor", "SpectralBiclustering", "SpectralClustering",
    "SpectralCoclustering", "SpectralEmbedding", "TSNE",
}  # fmt: skip
# (LocalOutlierFactor predicts only when built with novelty=True.)

# Multi-label classifiers whose predict_proba does not have the shape log_loss / roc_auc_score
# take (a list of arrays; one column per label, read as a binary problem): MLflow logs those
# metrics for neither, and neither does trackflow (it warns).
MISSING_PROBABILITY_METRICS = {
    "MultiOutputClassifier": {"training_log_loss", "training_roc_auc"},
    "ClassifierChain": {"training_roc_auc"},
}

ALL_NAMES = all_estimator_names()
COVERED = all_cases(excluding=NOT_PATCHED_LIKE_MLFLOW)
PARAMETER_SEARCHES = {"GridSearchCV", "RandomizedSearchCV"}

CLASSIFIER_METRICS = {"accuracy_score", "precision_score", "recall_score", "f1_score", "score"}
PROBABILITY_METRICS = {"log_loss", "roc_auc"}
REGRESSOR_METRICS = {"mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "r2_score", "score"}


def test_every_estimator_is_covered_or_named() -> None:
    from trackflow.autolog.sklearn import estimators_to_patch

    patched = {cls.__name__ for cls in estimators_to_patch()}
    uncovered = ALL_NAMES - patched - NOT_PATCHED_LIKE_MLFLOW
    assert uncovered == set()
    assert NOT_PATCHED_LIKE_MLFLOW <= ALL_NAMES, "an exclusion names an estimator sklearn no longer has"
    assert NOT_PATCHED_LIKE_MLFLOW.isdisjoint(patched)
    assert NO_MODEL <= patched
    assert {case.name for case in COVERED} == ALL_NAMES - NOT_PATCHED_LIKE_MLFLOW


def test_excluded_estimators_keep_their_own_methods(tracking: trackflow.Client) -> None:
    from sklearn.utils import all_estimators

    excluded = [cls for name, cls in all_estimators() if name in NOT_PATCHED_LIKE_MLFLOW]
    for cls in excluded:
        for method in ("fit", "fit_transform", "fit_predict"):
            attribute = inspect.getattr_static(cls, method, None)
            function = getattr(attribute, "fn", attribute)  # available_if descriptors hold a function
            assert not hasattr(function, "trackflow_autolog"), f"{cls.__name__}.{method} is patched"
    from sklearn.preprocessing import StandardScaler

    trackflow.set_experiment("cover-excluded")
    StandardScaler().fit_transform(np.ones((4, 2)))
    assert trackflow.search_runs(experiment_names=["cover-excluded"], output_format="list") == []


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Iterator[trackflow.Client]:
    trackflow.set_tracking_uri(f"sqlite:///{tmp_path_factory.mktemp('coverage') / 'autolog.db'}")
    trackflow.sklearn.autolog()
    yield trackflow.Client()
    trackflow.sklearn.autolog(disable=True)
    while fluent.active_run():
        fluent.end_run()


def expected_metrics(case: Case, estimator: Any, y: Any) -> set[str]:
    if y is None:
        return set()
    if case.kind == "classifier":
        names = set(CLASSIFIER_METRICS)
        if hasattr(estimator, "predict_proba"):
            names |= PROBABILITY_METRICS
    elif case.kind == "regressor":
        names = set(REGRESSOR_METRICS)
    else:
        names = {"score"} if hasattr(estimator, "score") else set()
    out = {f"training_{name}" for name in names} - MISSING_PROBABILITY_METRICS.get(case.name, set())
    if case.name in PARAMETER_SEARCHES:
        out.add("best_cv_score")
    return out


def expected_params(case: Case, estimator: Any) -> dict[str, str]:
    params = estimator.get_params(deep=case.name not in PARAMETER_SEARCHES)
    out = {}
    for key, value in params.items():
        text = str(value)
        out[key] = text if len(text) <= 6000 else text[:5997] + "..."
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", COVERED, ids=lambda case: case.name)
def test_estimator_is_autologged(case: Case, tracking: trackflow.Client, tmp_path: Path) -> None:
    estimator = case.build()
    X, y = case.data()
    params = expected_params(case, estimator)
    trackflow.set_experiment(f"cover-{case.name}")
    estimator.fit(X) if y is None else estimator.fit(X, y)

    runs = trackflow.search_runs(
        experiment_names=[f"cover-{case.name}"], filter_string="tags.mlflow.parentRunId IS NULL", output_format="list"
    )
    assert len(runs) == 1, "nested fits must not make runs of their own"
    run = runs[0]
    assert run.info.status.value == "FINISHED"
    assert run.data.tags["estimator_name"] == case.name
    assert run.data.tags["estimator_class"] == f"{case.cls.__module__}.{case.name}"
    assert run.data.tags["mlflow.autologging"] == "sklearn"

    best = {f"best_{k}": str(v) for k, v in getattr(estimator, "best_params_", {}).items()}
    assert run.data.params == {**params, **best}

    metrics = run.data.metrics
    assert set(metrics) == expected_metrics(case, estimator, y)
    if "training_score" in metrics:
        assert metrics["training_score"] == pytest.approx(estimator.score(X, y))

    artifacts = {Path(f.path).name for f in tracking.list_artifacts(run.info.run_id)}
    assert "estimator.html" in artifacts
    if case.kind == "classifier" and y.ndim == 1:
        assert "training_confusion_matrix.png" in artifacts
    if case.name in PARAMETER_SEARCHES:
        assert "cv_results.csv" in artifacts
        assert (download_model(f"runs:/{run.info.run_id}/best_estimator") / "MLmodel").is_file()

    method = "predict" if hasattr(estimator, "predict") else "transform" if hasattr(estimator, "transform") else None
    assert (method is None) == (case.name in NO_MODEL)
    if method is None:
        with pytest.raises(NotFound):
            download_model(f"runs:/{run.info.run_id}/model")
        return
    model = trackflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    expected = dense(getattr(estimator, method)(X[:7]))
    got = dense(model.predict(X[:7]))
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    else:
        np.testing.assert_array_equal(got, expected)


def dense(values: Any) -> np.ndarray:
    """Predictions as a dense array (some transformers return scipy sparse matrices)."""
    return np.asarray(values.toarray() if hasattr(values, "toarray") else values)
