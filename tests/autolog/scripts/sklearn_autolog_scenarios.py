"""The same sklearn autologging scenarios, run with ``mlflow`` or ``trackflow``.

    python sklearn_autolog_scenarios.py mlflow|trackflow TRACKING_URI

Prints one JSON document: for each scenario, its runs (parents first) with their status, the
sets of param, metric and tag keys, the run's top-level artifact names, and the models it
logged with their files.
Written against the API both libraries share, so the user code is identical.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import warnings

import numpy as np
import sklearn.metrics
from sklearn.cluster import KMeans
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

warnings.filterwarnings("ignore")
library_name, tracking_uri = sys.argv[1], sys.argv[2]
lib = importlib.import_module(library_name)
importlib.import_module(f"{library_name}.sklearn")
lib.set_tracking_uri(tracking_uri)
client = lib.MlflowClient() if library_name == "mlflow" else lib.Client()

iris_X, iris_y = load_iris(return_X_y=True)
cancer_X, cancer_y = load_breast_cancer(return_X_y=True, as_frame=True)
cancer_X, cancer_y = cancer_X.iloc[:120, :6], cancer_y.iloc[:120]
diabetes_X, diabetes_y = load_diabetes(return_X_y=True)


def failing_fit() -> None:
    try:
        LogisticRegression().fit(np.zeros((4, 2)), [0, 0, 0, 0])  # one class: sklearn refuses
    except ValueError:
        pass


def post_training() -> None:
    X_train, y_train, X_test, y_test = iris_X[::2], iris_y[::2], iris_X[1::2], iris_y[1::2]
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    y_pred = model.predict(X_test)
    sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.f1_score(y_test, y_pred, average="macro")
    y_proba = model.predict_proba(X_test)
    sklearn.metrics.log_loss(y_test, y_proba)
    model.score(X_test, y_test)


SCENARIOS = {
    "logistic_regression": lambda: LogisticRegression(max_iter=300).fit(iris_X, iris_y),
    "binary_random_forest": lambda: RandomForestClassifier(n_estimators=5, random_state=0).fit(cancer_X, cancer_y),
    "pipeline": lambda: Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(iris_X, iris_y),
    "grid_search": lambda: GridSearchCV(SVC(), {"C": [0.1, 1.0, 10.0], "kernel": ["linear", "rbf"]}, cv=3).fit(
        iris_X, iris_y
    ),
    "regressor": lambda: GradientBoostingRegressor(n_estimators=10, random_state=0).fit(diabetes_X, diabetes_y),
    "clusterer": lambda: KMeans(n_clusters=3, n_init=2, random_state=0).fit(iris_X),
    "fit_predict": lambda: KMeans(n_clusters=3, n_init=2, random_state=0).fit_predict(iris_X),
    "excluded_preprocessing": lambda: StandardScaler().fit_transform(iris_X),
    "failing_fit": failing_fit,
    "post_training": post_training,
}


def model_files(model_id: str) -> list[str]:
    if hasattr(client, "list_logged_model_artifacts"):
        return [f.path.rsplit("/", 1)[-1] for f in client.list_logged_model_artifacts(model_id)]
    with tempfile.TemporaryDirectory() as tmp:
        return os.listdir(client.download_logged_model_artifacts(model_id, dst_path=tmp))


def logged_models(run, top: list[str]) -> dict[str, list[str]]:
    """Each model logged by the run (name -> its file names), wherever the library keeps it:
    as a LoggedModel (MLflow 3) and/or as a model directory among the run's artifacts."""
    run_id = run.info.run_id
    models: dict[str, set[str]] = {}
    if hasattr(client, "search_logged_models"):
        found = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{run_id}'")
        for model in found:
            models.setdefault(model.name, set()).update(model_files(model.model_id))
    for name in top:
        files = {f.path.rsplit("/", 1)[-1] for f in client.list_artifacts(run_id, name)}
        if "MLmodel" in files:
            models.setdefault(name, set()).update(files)
    return {name: sorted(files) for name, files in models.items()}


def describe(run) -> dict:
    top = sorted(f.path.rsplit("/", 1)[-1] for f in client.list_artifacts(run.info.run_id))
    models = logged_models(run, top)
    return {
        "status": str(getattr(run.info.status, "value", run.info.status)),
        "child": "mlflow.parentRunId" in run.data.tags,
        "params": sorted(run.data.params),
        "metrics": sorted(run.data.metrics),
        "tags": sorted(run.data.tags),
        "artifacts": top,
        "models": sorted(models),
        "model_files": sorted({f"{name}/{file}" for name, files in models.items() for file in files}),
        "metric_info": metric_info(run.info.run_id, top),
    }


def metric_info(run_id: str, top: list[str]) -> list[str]:
    """metric_info.json (post-training metric key -> the call that produced it) as lines."""
    if "metric_info.json" not in top:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        with open(client.download_artifacts(run_id, "metric_info.json", tmp)) as fh:
            return sorted(f"{key}: {call}" for key, call in json.load(fh).items())


lib.sklearn.autolog()
out = {}
for name, scenario in SCENARIOS.items():
    lib.set_experiment(f"autolog-{name}")
    scenario()
    runs = lib.search_runs(experiment_names=[f"autolog-{name}"], output_format="list")
    described = [describe(run) for run in runs]
    out[name] = sorted(described, key=lambda r: (r["child"], r["params"]))
print(json.dumps(out))
