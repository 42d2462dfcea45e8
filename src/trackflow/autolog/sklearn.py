"""`trackflow.sklearn.autolog()`: every scikit-learn ``fit`` becomes a tracked run.

On fit it logs the estimator's params, training metrics and the fitted model (MLflow's
model format). A fit inside another autologged fit (a Pipeline step, a grid-search
candidate) is part of the outer one and is not logged separately.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from trackflow.tracking import fluent

_state = threading.local()
_patched: dict[type, Callable[..., Any]] = {}
_config: dict[str, Any] = {"log_models": True, "disabled": True}


def autolog(log_models: bool = True, disable: bool = False) -> None:
    """Turn autologging on (or off with ``disable=True``) for every scikit-learn estimator."""
    _config.update(log_models=log_models, disabled=disable)
    if disable or _patched:
        return
    from sklearn.utils import all_estimators

    for _name, cls in all_estimators():
        if "fit" in cls.__dict__ and cls not in _patched:
            _patched[cls] = cls.fit
            cls.fit = _wrap_fit(cls.fit)  # type: ignore[method-assign]


def _wrap_fit(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _config["disabled"] or getattr(_state, "active", False):
            return original(self, *args, **kwargs)
        X = args[0] if args else kwargs.get("X")
        y = args[1] if len(args) > 1 else kwargs.get("y")
        _state.active = True
        owns_run = fluent.active_run() is None
        run = fluent.active_run() or fluent.start_run()
        try:
            fluent.log_params(_params(self))
            fluent.set_tags({"estimator_name": type(self).__name__, "estimator_class": _qualified(self)})
            result = original(self, *args, **kwargs)
            fluent.log_metrics(training_metrics(self, X, y))
            if _config["log_models"]:
                _log_model(self)
        except BaseException:
            if owns_run:
                fluent.end_run("FAILED")
            raise
        finally:
            _state.active = False
        if owns_run and fluent.active_run() is run:
            fluent.end_run("FINISHED")
        return result

    return fit


def _qualified(estimator: Any) -> str:
    cls = type(estimator)
    return f"{cls.__module__}.{cls.__qualname__}"


def _params(estimator: Any) -> dict[str, str]:
    params = estimator.get_params(deep=True)
    # Nested estimators show up as objects; their own params are already flattened in.
    return {k: str(v)[:6000] for k, v in params.items() if not hasattr(v, "get_params")}


def training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """MLflow's training_* metrics for classifiers and regressors (nothing for others)."""
    if y is None or not hasattr(estimator, "predict"):
        return {}
    from sklearn import metrics
    from sklearn.base import is_classifier, is_regressor

    predicted = estimator.predict(X)
    out: dict[str, float] = {"training_score": float(estimator.score(X, y))}
    if is_classifier(estimator):
        out.update(
            training_accuracy_score=metrics.accuracy_score(y, predicted),
            training_precision_score=metrics.precision_score(y, predicted, average="weighted", zero_division=0),
            training_recall_score=metrics.recall_score(y, predicted, average="weighted", zero_division=0),
            training_f1_score=metrics.f1_score(y, predicted, average="weighted", zero_division=0),
        )
        if hasattr(estimator, "predict_proba"):
            try:
                out["training_log_loss"] = metrics.log_loss(y, estimator.predict_proba(X), labels=estimator.classes_)
            except ValueError:
                pass  # e.g. a single class seen in training
    elif is_regressor(estimator):
        mse = metrics.mean_squared_error(y, predicted)
        out.update(
            training_mean_squared_error=mse,
            training_root_mean_squared_error=mse**0.5,
            training_mean_absolute_error=metrics.mean_absolute_error(y, predicted),
            training_r2_score=metrics.r2_score(y, predicted),
        )
    return {k: float(v) for k, v in out.items()}


def _log_model(estimator: Any) -> None:
    from trackflow.models.flavors import sklearn as sklearn_flavor

    sklearn_flavor.log_model(estimator, name="model")
