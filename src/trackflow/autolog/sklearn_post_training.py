"""Post-training metrics: what ``mlflow.sklearn.autolog(log_post_training_metrics=True)`` logs
when a fitted estimator is evaluated after its autologged fit.

- ``model.score(X_test, y_test)`` logs ``<EstimatorClass>_score_X_test`` into the fit's run;
- ``y_pred = model.predict(X_test)`` (or ``predict_proba``, ``predict_log_proba``,
  ``transform``) remembers that ``y_pred`` came from that run and from ``X_test``; a later
  ``sklearn.metrics.<metric>(y_test, y_pred)`` logs ``<metric>_X_test``.

Dataset names are the caller's variable names (``unknown_dataset`` when the value has none);
a second, different dataset under the same name becomes ``X_test-2``, a second call of the same
metric on a run ``accuracy_score-2_X_test``. ``metric_info.json`` in the run maps every such key
to the call that produced it. Metric functions are patched on ``sklearn.metrics``, so only calls
made through that module after ``autolog()`` (``sklearn.metrics.f1_score(...)``, or a name
imported from it afterwards) are seen, as with MLflow.

Nothing is logged while a fit or another evaluation is in progress (a ``score`` that calls
``predict`` logs once).
"""

from __future__ import annotations

import inspect
import threading
import weakref
from collections import defaultdict
from typing import Any

import numpy as np

from trackflow.autolog.sklearn_content import log_metrics
from trackflow.tracking import fluent

PREDICT_METHODS = ["predict", "predict_proba", "predict_log_proba", "transform"]
# sklearn.metrics names that are not metrics (MLflow's list), besides classes and plot_*
NOT_METRICS = {"check_scoring", "get_scorer", "make_scorer", "get_scorer_names"}
UNKNOWN_DATASET = "unknown_dataset"


def metric_function_names() -> list[str]:
    from sklearn import metrics

    return [
        name
        for name in metrics.__all__
        if name not in NOT_METRICS
        and not name.startswith("plot_")
        and callable(getattr(metrics, name))
        and not inspect.isclass(getattr(metrics, name))
    ]


def is_loggable(value: Any) -> bool:
    return isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_)


def variable_name(value: Any, fallback: str) -> str:
    """The name the outermost caller holding ``value`` gave it: frames that received it as an
    argument are passed through (our wrappers, sklearn helpers), the first that did not is
    searched for a local bound to it."""
    if value is None:
        return fallback
    try:
        frame = inspect.currentframe()
        frame = frame.f_back if frame is not None else None
        while frame is not None:
            info = inspect.getargvalues(frame)
            arguments = [info.locals[name] for name in info.args]
            if info.varargs:
                arguments += list(info.locals[info.varargs])
            if info.keywords:
                arguments += list(info.locals[info.keywords].values())
            if any(value is argument for argument in arguments):
                frame = frame.f_back
                continue
            return next((name for name, local in frame.f_locals.items() if local is value), fallback)
    except Exception:  # noqa: BLE001 - a name is a nicety; never fail the user's call over it
        return fallback
    return fallback


def with_index(name: str, index: int) -> str:
    """``name`` for the first, ``name-2``, ``name-3``... after (``-`` is never in a Python name)."""
    return name if index == 0 else f"{name}-{index + 1}"


def _describe(value: Any) -> str:
    if value is None or np.isscalar(value):
        if isinstance(value, str) and len(value) > 32:
            return repr(value[:32] + "...")
        return repr(value)
    return variable_name(value, f"<{type(value).__name__}>")


def call_command(function: Any, owner: Any, *args: Any, **kwargs: Any) -> str:
    """``accuracy_score(y_true=y_test, y_pred=y_pred)``: the call as the user wrote it.

    The arguments arrive spread (and are walked without comprehensions, which have frames of
    their own) so that ``variable_name`` passes through this frame to the caller's."""
    names = list(inspect.signature(function).parameters)
    if owner is not None:
        names = names[1:]
    shown = []
    for name, arg in zip(names, args, strict=False):
        shown.append(f"{name}={_describe(arg)}")
    for name, arg in kwargs.items():
        shown.append(f"{name}={_describe(arg)}")
    label = f"{type(owner).__name__}.{function.__name__}" if owner is not None else function.__name__
    return f"{label}({', '.join(shown)})"


class PostTrainingMetrics:
    """Which run each fitted estimator and each prediction belongs to, and the metric keys used
    so far per run. Holds ids and names only, never the user's data or models."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._predictions: dict[int, tuple[str, str]] = {}  # id(prediction) -> (run id, dataset name)
        self._datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._calls: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))

    def register_model(self, estimator: Any, run_id: str) -> None:
        try:
            self._runs[estimator] = run_id
        except TypeError:  # an estimator that cannot be weakly referenced or hashed
            pass

    def run_of(self, estimator: Any) -> str | None:
        try:
            return self._runs.get(estimator)
        except TypeError:
            return None

    def dataset_name(self, run_id: str, dataset: Any) -> str:
        name = variable_name(dataset, UNKNOWN_DATASET)
        with self._lock:
            seen = self._datasets[run_id][name]
            if id(dataset) not in seen:
                seen.append(id(dataset))
            return with_index(name, seen.index(id(dataset)))

    def record_prediction(self, run_id: str, dataset_name: str, prediction: Any) -> None:
        key = id(prediction)
        try:
            # an id is reused once its object is gone: forget it then
            weakref.finalize(prediction, self._predictions.pop, key, None)
        except TypeError:  # lists and tuples cannot be weakly referenced: not tracked
            return
        self._predictions[key] = (run_id, dataset_name)

    def source_of(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, str] | None:
        """(run id, dataset name) of the first argument that is a recorded prediction."""
        for arg in [*args, *kwargs.values()]:
            if arg is not None and not np.isscalar(arg) and id(arg) in self._predictions:
                return self._predictions[id(arg)]
        return None

    def log(self, run_id: str, metric: str, dataset_name: str, command: str, value: Any) -> None:
        """Log ``<metric>[-n]_<dataset>`` and rewrite the run's ``metric_info.json``."""
        with self._lock:
            calls = self._calls[run_id][metric]
            key = f"{with_index(metric, len(calls))}_{dataset_name}"
            calls.append((key, command))
            info = dict(sorted(entry for entries in self._calls[run_id].values() for entry in entries))
        client = fluent.get_client()
        log_metrics(client, run_id, {key: value})
        client.log_dict(run_id, info, "metric_info.json")
