"""What one autologged scikit-learn fit records, as ``mlflow.sklearn.autolog()`` records it.

Before training: params (``get_params(deep=True)``; shallow for a parameter search, whose seed
estimator's untuned params would mislead), tags ``estimator_name``/``estimator_class``.
After training: the model (``model/``, signature inferred from the first rows of the training
data), ``training_*`` metrics, classifier plots, ``estimator.html``; for GridSearchCV and
RandomizedSearchCV also ``best_estimator/``, ``best_cv_score``, ``best_<param>`` params,
``cv_results.csv`` and one child run per candidate (the best ``max_tuning_runs``).

Every function here takes the run id explicitly and writes through a tracking Client, so child
runs never touch the fluent active-run stack. Failures are the caller's to catch: a metric that
cannot be computed is left out, anything else raises.
"""

from __future__ import annotations

import inspect
import logging
import math
import tempfile
from copy import deepcopy
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from trackflow.entities import Metric, Param, RunTag
from trackflow.tracking.client import Client, now_ms

logger = logging.getLogger("trackflow.autolog.sklearn")

TRAINING_PREFIX = "training_"
INPUT_EXAMPLE_ROWS = 5  # MLflow's INPUT_EXAMPLE_SAMPLE_ROWS
MAX_KEY_LENGTH = 250  # MLflow's entity key limit
MAX_PARAM_LENGTH = 6000
MAX_TAG_LENGTH = 8000
AUTOLOGGING_TAG = "mlflow.autologging"
PARENT_RUN_TAG = "mlflow.parentRunId"


@dataclass
class Options:
    """``trackflow.sklearn.autolog``'s arguments, as the fit wrapper passes them down."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    log_datasets: bool = True
    max_tuning_runs: int | None = 5
    serialization_format: str = "cloudpickle"
    registered_model_name: str | None = None
    pos_label: Any = None
    extra_tags: dict[str, Any] | None = None


@dataclass
class TrainingData:
    X: Any
    y: Any
    sample_weight: Any


# -- params and tags --------------------------------------------------------------------------


def truncated(values: dict[str, Any], max_value_length: int) -> dict[str, str]:
    """Keys and values as strings, over-long ones cut and ending in ``...`` (MLflow's rule)."""
    out = {}
    for key, value in values.items():
        key, text = str(key), str(value)
        if len(key) > MAX_KEY_LENGTH:
            key = key[: MAX_KEY_LENGTH - 3] + "..."
        if len(text) > max_value_length:
            text = text[: max_value_length - 3] + "..."
        out[key] = text
    return out


def is_parameter_search(estimator: Any) -> bool:
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

    return isinstance(estimator, GridSearchCV | RandomizedSearchCV)


def estimator_params(estimator: Any) -> dict[str, Any]:
    return dict(estimator.get_params(deep=not is_parameter_search(estimator)))


def estimator_tags(estimator: Any) -> dict[str, str]:
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def log_params(client: Client, run_id: str, params: dict[str, Any]) -> None:
    values = truncated(params, MAX_PARAM_LENGTH)
    client.log_batch(run_id, params=[Param(k, v) for k, v in values.items()])


def log_tags(client: Client, run_id: str, tags: dict[str, Any]) -> None:
    values = truncated(tags, MAX_TAG_LENGTH)
    client.log_batch(run_id, tags=[RunTag(k, v) for k, v in values.items()])


def log_metrics(client: Client, run_id: str, metrics: dict[str, Any]) -> None:
    timestamp = now_ms()
    client.log_batch(run_id, metrics=[Metric(k, float(v), timestamp, 0) for k, v in metrics.items()])


# -- training data ----------------------------------------------------------------------------


def training_data(fit_function: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> TrainingData:
    """X, y and sample_weight of a call ``fit_function(self, *args, **kwargs)``, copied so that
    training cannot change what the model is described with. The first two parameters are X
    and y whatever they are called (MultiOutputClassifier.fit(X, Y))."""
    names = list(inspect.signature(fit_function).parameters)[1:]
    X_name, y_name = (names + ["X", "y"])[:2]
    if len(args) >= 2:
        X, y = args[0], args[1]
    elif len(args) == 1:
        X, y = args[0], kwargs.get(y_name)
    else:
        X, y = kwargs.get(X_name), kwargs.get(y_name)
    sample_weight = None
    if "sample_weight" in names:
        index = names.index("sample_weight")
        sample_weight = args[index] if len(args) > index else kwargs.get("sample_weight")
    return TrainingData(deepcopy(X), deepcopy(y), sample_weight)


# -- metrics ----------------------------------------------------------------------------------


def _computed(calls: dict[str, partial[Any]]) -> dict[str, float]:
    """Call each prepared metric; one that fails is left out with a warning."""
    out = {}
    for name, call in calls.items():
        try:
            out[name] = float(call())
        except Exception as exc:  # noqa: BLE001 - one bad metric must not lose the others
            logger.warning("%s failed; the metric %s is not logged: %s", call.func.__name__, name, exc)
    return out


def classifier_metrics(estimator: Any, data: TrainingData, pos_label: Any) -> dict[str, float]:
    from sklearn import metrics

    X, y, weight = data.X, data.y, data.sample_weight
    average = "weighted" if pos_label is None else "binary"
    predicted = estimator.predict(X)
    averaged = {"pos_label": pos_label, "average": average, "sample_weight": weight}
    calls = {
        "precision_score": partial(metrics.precision_score, y, predicted, **averaged),
        "recall_score": partial(metrics.recall_score, y, predicted, **averaged),
        "f1_score": partial(metrics.f1_score, y, predicted, **averaged),
        "accuracy_score": partial(metrics.accuracy_score, y, predicted, normalize=True, sample_weight=weight),
    }
    if hasattr(estimator, "predict_proba"):
        probabilities = estimator.predict_proba(X)
        calls["log_loss"] = partial(metrics.log_loss, y, probabilities, sample_weight=weight)
        # binary: the score of the greater label, as roc_auc_score expects
        scores = probabilities[:, 1] if len(probabilities[0]) == 2 else probabilities
        calls["roc_auc"] = partial(
            metrics.roc_auc_score, y, scores, average="weighted", sample_weight=weight, multi_class="ovo"
        )
    return {TRAINING_PREFIX + name: value for name, value in _computed(calls).items()}


def regressor_metrics(estimator: Any, data: TrainingData) -> dict[str, float]:
    from sklearn import metrics

    predicted = estimator.predict(data.X)
    common = {"sample_weight": data.sample_weight, "multioutput": "uniform_average"}
    values = _computed(
        {
            "mean_squared_error": partial(metrics.mean_squared_error, data.y, predicted, **common),
            "mean_absolute_error": partial(metrics.mean_absolute_error, data.y, predicted, **common),
            "r2_score": partial(metrics.r2_score, data.y, predicted, **common),
        }
    )
    values["root_mean_squared_error"] = math.sqrt(values["mean_squared_error"])
    return {TRAINING_PREFIX + name: value for name, value in values.items()}


def training_metrics(estimator: Any, data: TrainingData, pos_label: Any = None) -> dict[str, float]:
    """MLflow's training metrics: per-type ones (when labels were given), then ``training_score``.

    When the per-type computation fails as a whole (predict raises) none of them is logged, as
    in MLflow; ``training_score`` is tried on its own."""
    from sklearn.base import is_classifier, is_regressor

    out: dict[str, float] = {}
    if data.y is None:
        return out
    try:
        if is_classifier(estimator):
            out.update(classifier_metrics(estimator, data, pos_label))
        elif is_regressor(estimator):
            out.update(regressor_metrics(estimator, data))
    except Exception as exc:  # noqa: BLE001 - reported, the fit itself succeeded
        logger.warning("Failed to autolog metrics for %s: %s", type(estimator).__name__, exc)
    if hasattr(estimator, "score"):
        score_args = [data.X, data.y]
        if "sample_weight" in inspect.signature(estimator.score).parameters:
            score_args.append(data.sample_weight)
        try:
            out[TRAINING_PREFIX + "score"] = float(estimator.score(*score_args))
        except Exception as exc:  # noqa: BLE001
            logger.warning("%s.score failed; training_score is not logged: %s", type(estimator).__name__, exc)
    return out


# -- artifacts --------------------------------------------------------------------------------


def classifier_plots(estimator: Any, data: TrainingData, directory: Path) -> list[str]:
    """Confusion matrix (normalised) for every classifier; ROC and precision-recall curves for
    binary ones. PNG files written into ``directory``; returns their names. Needs matplotlib
    (nothing is drawn without it). Figures are built without pyplot: no GUI backend, no
    global figure registry."""
    try:
        from matplotlib import rc_context
        from matplotlib.figure import Figure
    except ImportError:
        logger.warning("matplotlib is not installed; classifier plots are not logged")
        return []
    from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay

    X, y, weight = data.X, data.y, data.sample_weight
    classes = getattr(estimator, "classes_", None)
    n_classes = len(classes) if classes is not None else len(set(y))
    plots: list[tuple[str, str, Any, dict[str, Any]]] = [
        (
            "confusion_matrix",
            "Normalized confusion matrix",
            ConfusionMatrixDisplay.from_estimator,
            {"normalize": "true", "cmap": "Blues"},
        )
    ]
    if len(set(_as_list(y))) == 2:
        plots += [
            ("roc_curve", "ROC curve", RocCurveDisplay.from_estimator, {}),
            ("precision_recall_curve", "Precision recall curve", PrecisionRecallDisplay.from_estimator, {}),
        ]
    written = []
    style: dict[Any, Any] = {
        "savefig.dpi": 175,
        "figure.autolayout": True,
        "font.size": min(8.0, 50.0 / max(n_classes, 1)),
    }
    for name, title, draw, extra in plots:
        try:
            with rc_context(style):
                figure = Figure(figsize=(6.0, 4.0))
                display = draw(estimator, X, y, sample_weight=weight, ax=figure.subplots(), **extra)
                display.ax_.set_title(title)
                file_name = f"{TRAINING_PREFIX}{name}.png"
                figure.savefig(directory / file_name, format="png")
            written.append(file_name)
        except Exception as exc:  # noqa: BLE001 - one plot failing keeps the others
            logger.warning("%s failed; the artifact %s is not logged: %s", draw.__qualname__, name, exc)
    return written


def _as_list(values: Any) -> list[Any]:
    try:
        return list(values.tolist()) if hasattr(values, "tolist") else list(values)
    except TypeError:
        return []


def estimator_html(estimator: Any) -> str:
    from sklearn.utils import estimator_html_repr

    return (
        '<!DOCTYPE html>\n<html lang="en">\n  <head>\n    <meta charset="UTF-8"/>\n  </head>\n'
        f"  <body>\n    {estimator_html_repr(estimator)}\n  </body>\n</html>\n"
    )


def input_example(data: TrainingData) -> Any:
    return deepcopy(data.X[:INPUT_EXAMPLE_ROWS])


def predict_function(estimator: Any) -> str | None:
    """The method a logged model's pyfunc ``predict`` calls: ``predict``, else ``transform``
    (PCA, Isomap...), else None: nothing in the estimator scores new data (DBSCAN, TSNE)."""
    for name in ("predict", "transform"):
        if hasattr(estimator, name):
            return name
    return None


def infer_model_signature(estimator: Any, example: Any) -> Any:
    from trackflow.models.signature import infer_signature

    method = predict_function(estimator)
    if method is None:
        raise ValueError(f"{type(estimator).__name__} has neither predict nor transform")
    return infer_signature(example, getattr(estimator, method)(deepcopy(example)))


def log_model(
    estimator: Any, name: str, run_id: str, options: Options, signature: Any, example: Any, register: bool
) -> bool:
    """Log ``estimator`` as ``name/`` in MLflow's sklearn format; False when it cannot be logged
    because nothing in it predicts (see ``predict_function``)."""
    from trackflow.models.flavors import sklearn as sklearn_flavor

    method = predict_function(estimator)
    if method is None:
        logger.warning(
            "%s has neither predict nor transform; trackflow's sklearn flavor needs one, so no model is logged",
            type(estimator).__name__,
        )
        return False
    sklearn_flavor.log_model(
        estimator,
        name=name,
        signature=signature if signature is not None else False,
        input_example=example if options.log_input_examples else None,
        serialization_format=options.serialization_format,
        registered_model_name=options.registered_model_name if register else None,
        pyfunc_predict_fn=method,
        run_id=run_id,
    )
    return True


# -- parameter search -------------------------------------------------------------------------


def log_parameter_search(
    client: Client, run_id: str, search: Any, options: Options, signature: Any, example: Any
) -> None:
    """best_estimator/, best_cv_score, best_<param> params, child runs and cv_results.csv."""
    if hasattr(search, "best_estimator_") and options.log_models:
        log_model(search.best_estimator_, "best_estimator", run_id, options, signature, example, register=False)
    if hasattr(search, "best_score_"):
        log_metrics(client, run_id, {"best_cv_score": search.best_score_})
    if hasattr(search, "best_params_"):
        log_params(client, run_id, {f"best_{k}": v for k, v in search.best_params_.items()})
    if hasattr(search, "cv_results_"):
        try:
            create_child_runs(client, run_id, search, options.max_tuning_runs)
        except Exception as exc:  # noqa: BLE001 - the parent's own content is already logged
            logger.warning("Creating child runs for the parameter search failed; some may be missing: %s", exc)
        import pandas as pd

        with tempfile.TemporaryDirectory(prefix="trackflow-autolog-") as tmp:
            path = Path(tmp) / "cv_results.csv"
            pd.DataFrame.from_dict(search.cv_results_).to_csv(path, index=False)
            client.log_artifact(run_id, path)


def best_candidates(cv_results: dict[str, Any], max_tuning_runs: int | None) -> Any:
    """The rows of ``cv_results_`` that get a child run: the best ``max_tuning_runs`` by
    ``rank_test_score`` (the first ``rank_test_*`` column under multi-metric scoring), all of
    them for None."""
    import pandas as pd

    frame = pd.DataFrame.from_dict(cv_results)
    if max_tuning_runs is None:
        return frame
    rank = "rank_test_score"
    if rank not in frame.columns:
        rank = next(c for c in frame.columns if "rank_test_" in c)
        logger.warning("Top %s child runs are chosen by %s", max_tuning_runs, rank)
    return frame.nsmallest(max_tuning_runs, rank)


def create_child_runs(client: Client, parent_run_id: str, search: Any, max_tuning_runs: int | None) -> None:
    """One FINISHED child run per chosen candidate: the seed estimator's params overridden by the
    candidate's, and the candidate's aggregate cv metrics (no per-split values)."""
    from numbers import Number

    parent = client.get_run(parent_run_id)
    seed = search.estimator
    base_params = seed.get_params(deep=not is_parameter_search(seed))
    inherited = {k: v for k, v in parent.data.tags.items() if k.startswith("mlflow.source.") or k == "mlflow.user"}
    tags = {**inherited, AUTOLOGGING_TAG: "sklearn", PARENT_RUN_TAG: parent_run_id, **estimator_tags(seed)}
    end_time = now_ms()
    for _, row in best_candidates(search.cv_results_, max_tuning_runs).iterrows():
        child = client.create_run(parent.info.experiment_id, start_time=parent.info.start_time, tags=tags)
        child_id = child.info.run_id
        log_params(client, child_id, {**base_params, **row.get("params", {})})
        metrics = {
            str(key): value
            for key, value in row.items()
            if not str(key).startswith(("param", "split")) and isinstance(value, Number)
        }
        log_metrics(client, child_id, metrics)
        client.set_terminated(child_id, "FINISHED", end_time=end_time)


# -- datasets ---------------------------------------------------------------------------------


def training_dataset(data: TrainingData) -> Any:
    """The training data as a DatasetInput (context ``train``): DataFrames with their column
    schema, numpy arrays with their shapes; None for other types (lists, sparse matrices)."""
    import hashlib
    import json

    import numpy as np

    from trackflow.entities import DatasetInput
    from trackflow.tracking.datasets import as_dataset_input

    if hasattr(data.X, "to_parquet") and hasattr(data.X, "dtypes"):
        return as_dataset_input(data.X, "train")
    if not isinstance(data.X, np.ndarray):
        return None
    arrays = {"features": data.X}
    if isinstance(data.y, np.ndarray):
        arrays["targets"] = data.y
    digest = hashlib.sha256()
    for array in arrays.values():
        digest.update(np.ascontiguousarray(array).tobytes())
    specs = {
        name: {"type": "tensor", "tensor-spec": {"dtype": str(a.dtype), "shape": [-1, *a.shape[1:]]}}
        for name, a in arrays.items()
    }
    return DatasetInput(
        name="dataset",
        digest=digest.hexdigest()[:8],
        source_type="code",
        source=json.dumps({"type": "numpy"}),
        schema=json.dumps({"mlflow_tensorspec": {k: json.dumps([v]) for k, v in specs.items()}}),
        profile=json.dumps({f"{name}_shape": list(a.shape) for name, a in arrays.items()}),
        tags={"mlflow.data.context": "train"},
    )


def log_training_dataset(client: Client, run_id: str, data: TrainingData) -> None:
    dataset = training_dataset(data)
    if dataset is not None:
        client.log_inputs(run_id, [dataset])
