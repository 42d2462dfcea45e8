"""``trackflow.sklearn.autolog()``: every scikit-learn fit becomes a tracked run, as with
``mlflow.sklearn.autolog()``.

Patched: ``fit``, ``fit_transform`` and ``fit_predict`` of every estimator
``sklearn.utils.all_estimators()`` lists, plus GridSearchCV, RandomizedSearchCV and Pipeline,
whether the class defines the method or inherits it (RandomForest*, SVC, Lasso...). Left alone,
as MLflow leaves them: ``sklearn.preprocessing``, ``sklearn.impute``,
``sklearn.feature_extraction``, ``sklearn.feature_selection`` and ColumnTransformer, which
manipulate data rather than learn a model; inside a Pipeline they are part of its run.

One fit is one training session. A fit started while a session is open anywhere in the process
(a Pipeline's steps, a meta-estimator's base estimators, a forest's trees fitted on joblib
threads, the folds of ``cross_val_score``) is part of the outer one and logs nothing itself.
When no run is active the session starts one (tagged ``mlflow.autologging=sklearn``) and ends
it FINISHED, or FAILED when the fit raises, re-raising. Failures of the logging itself are
warnings: they never break the user's training.

What a fit records is in ``sklearn_content``.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from trackflow.autolog import sklearn_content as content
from trackflow.autolog import sklearn_post_training as post_training
from trackflow.autolog.patching import Patches
from trackflow.errors import InvalidInput
from trackflow.tracking import fluent

FIT_METHODS = ["fit", "fit_transform", "fit_predict"]
# Module prefixes and classes mlflow.sklearn.autolog() does not patch (see the module docstring).
EXCLUDED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
EXCLUDED_CLASSES = frozenset({"sklearn.compose._column_transformer.ColumnTransformer"})
# sklearn.model_selection helpers that fit many clones: their fits are never logged (MLflow's list).
UNLOGGED_HELPERS = [
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
]
SERIALIZATION_FORMATS = ("cloudpickle", "pickle")

_patches = Patches()
_options = content.Options()
_session_lock = threading.Lock()
_session_depth = 0  # process-wide on purpose: joblib worker threads must see the outer fit
_exclusive = False
_evaluations: post_training.PostTrainingMetrics | None = None  # None: post-training metrics off


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = 5,
    log_post_training_metrics: bool = True,
    serialization_format: str = "cloudpickle",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Turn scikit-learn autologging on with these settings (MLflow's arguments), or off with
    ``disable=True``, which puts every original method back.

    ``disable_for_unsupported_versions`` is accepted for compatibility and changes nothing.
    ``log_post_training_metrics`` is described in ``sklearn_post_training``. Raises InvalidInput
    for a negative ``max_tuning_runs`` or a ``serialization_format`` trackflow cannot write.
    """
    if max_tuning_runs is not None and max_tuning_runs < 0:
        raise InvalidInput(f"max_tuning_runs must be non-negative or None, got {max_tuning_runs}")
    if serialization_format not in SERIALIZATION_FORMATS:
        raise InvalidInput(
            f"serialization_format {serialization_format!r} is not supported; use one of {SERIALIZATION_FORMATS}"
        )
    if extra_tags is not None and not isinstance(extra_tags, dict):
        raise InvalidInput(f"extra_tags must be a dict, got {type(extra_tags).__name__}")
    _patches.restore()
    if disable:
        return
    global _options, _exclusive, _evaluations
    _options = content.Options(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        max_tuning_runs=max_tuning_runs,
        serialization_format=serialization_format,
        registered_model_name=registered_model_name,
        pos_label=pos_label,
        extra_tags={k: v for k, v in (extra_tags or {}).items() if k != content.AUTOLOGGING_TAG},
    )
    _exclusive = exclusive
    _evaluations = post_training.PostTrainingMetrics() if log_post_training_metrics else None
    content.logger.setLevel(logging.ERROR if silent else logging.NOTSET)
    _patch_estimators(evaluate=log_post_training_metrics)
    import sklearn.metrics
    import sklearn.model_selection

    for name in UNLOGGED_HELPERS:
        _patches.replace_function(sklearn.model_selection, name, _unlogged)
    if log_post_training_metrics:
        for name in post_training.metric_function_names():
            _patches.replace_function(sklearn.metrics, name, _evaluated_metric)


def estimators_to_patch() -> list[type]:
    """The estimator classes autologging covers (see the module docstring)."""
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    classes = {cls for _, cls in all_estimators()} | {GridSearchCV, RandomizedSearchCV, Pipeline}
    return sorted(
        (cls for cls in classes if not is_excluded(cls)),
        key=lambda cls: f"{cls.__module__}.{cls.__name__}",
    )


def is_excluded(cls: type) -> bool:
    return cls.__module__.startswith(EXCLUDED_MODULES) or f"{cls.__module__}.{cls.__name__}" in EXCLUDED_CLASSES


def _patch_estimators(evaluate: bool) -> None:
    classes = estimators_to_patch()
    names = FIT_METHODS + (post_training.PREDICT_METHODS + ["score"] if evaluate else [])
    # every original is read before anything is patched, so an inherited method is never a wrapper
    originals = [(cls, _patches.originals(cls, names)) for cls in classes]
    for cls, methods in originals:
        for name, raw in methods.items():
            wrapper = (
                _logged_fit if name in FIT_METHODS else _evaluated_score if name == "score" else _evaluated_predict
            )
            _patches.wrap_method(cls, name, raw, wrapper)


@contextmanager
def _training_session() -> Iterator[bool]:
    """Yields True for the outermost session in the process, False for one nested in it."""
    global _session_depth
    with _session_lock:
        outermost = _session_depth == 0
        _session_depth += 1
    try:
        yield outermost
    finally:
        with _session_lock:
            _session_depth -= 1


def _unlogged(original: Callable[..., Any]) -> Callable[..., Any]:
    def helper(*args: Any, **kwargs: Any) -> Any:
        with _training_session():
            return original(*args, **kwargs)

    return helper


def _logged_fit(original: Callable[..., Any]) -> Callable[..., Any]:
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _training_session() as outermost:
            if not outermost or (_exclusive and fluent.active_run() is not None):
                return original(self, *args, **kwargs)
            owns_run = fluent.active_run() is None
            try:
                active = fluent.start_run(tags=_run_tags()) if owns_run else fluent.active_run()
            except Exception as exc:  # noqa: BLE001 - no tracking server must not mean no training
                content.logger.warning("sklearn autologging could not start a run; fitting without: %s", exc)
                return original(self, *args, **kwargs)
            assert active is not None  # just started, or the user's own
            run_id = active.info.run_id
            try:
                result = _fit_and_log(original, self, args, kwargs, run_id)
            except BaseException:
                if owns_run:
                    with _warn_on_failure("ending the run"):
                        fluent.end_run("FAILED")
                raise
            if owns_run:
                with _warn_on_failure("ending the run"):
                    fluent.end_run("FINISHED")
        if _evaluations is not None:
            _evaluations.register_model(self, run_id)
        return result

    return fit


def _run_tags() -> dict[str, Any]:
    return {content.AUTOLOGGING_TAG: "sklearn", **(_options.extra_tags or {})}


def _evaluated_predict(original: Callable[..., Any]) -> Callable[..., Any]:
    """predict & co. of an autologged estimator: remember which run and dataset the result
    came from (see sklearn_post_training)."""

    def predict(self: Any, *args: Any, **kwargs: Any) -> Any:
        evaluations = _evaluations
        run_id = evaluations.run_of(self) if evaluations is not None else None
        if evaluations is None or run_id is None:
            return original(self, *args, **kwargs)
        with _training_session() as outermost:
            result = original(self, *args, **kwargs)
        if outermost:
            with _warn_on_failure("recording a prediction"):
                dataset = args[0] if args else next(iter(kwargs.values()), None)
                evaluations.record_prediction(run_id, evaluations.dataset_name(run_id, dataset), result)
        return result

    return predict


def _evaluated_score(original: Callable[..., Any]) -> Callable[..., Any]:
    """``score`` of an autologged estimator logs ``<Class>_score_<dataset>`` into its run."""

    def score(self: Any, *args: Any, **kwargs: Any) -> Any:
        evaluations = _evaluations
        run_id = evaluations.run_of(self) if evaluations is not None else None
        if evaluations is None or run_id is None:
            return original(self, *args, **kwargs)
        with _training_session() as outermost:
            value = original(self, *args, **kwargs)
        if outermost and post_training.is_loggable(value):
            with _warn_on_failure("logging a post-training score"):
                dataset = args[0] if args else next(iter(kwargs.values()), None)
                name = evaluations.dataset_name(run_id, dataset)
                command = post_training.call_command(original, self, *args, **kwargs)
                evaluations.log(run_id, f"{type(self).__name__}_score", name, command, value)
        return value

    return score


def _evaluated_metric(original: Callable[..., Any]) -> Callable[..., Any]:
    """A ``sklearn.metrics`` function given a prediction of an autologged estimator logs
    ``<metric>_<dataset>`` into that estimator's run."""

    def metric(*args: Any, **kwargs: Any) -> Any:
        with _training_session() as outermost:
            value = original(*args, **kwargs)
        evaluations = _evaluations
        if outermost and evaluations is not None and post_training.is_loggable(value):
            with _warn_on_failure("logging a post-training metric"):
                source = evaluations.source_of(args, kwargs)
                if source is not None:
                    command = post_training.call_command(original, None, *args, **kwargs)
                    evaluations.log(source[0], original.__name__, source[1], command, value)
        return value

    return metric


def _fit_and_log(
    original: Callable[..., Any], estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], run_id: str
) -> Any:
    client = fluent.get_client()
    options = _options
    data: content.TrainingData | None = None
    with _warn_on_failure("logging params and tags"):
        data = content.training_data(original, args, kwargs)
        content.log_params(client, run_id, content.estimator_params(estimator))
        content.log_tags(client, run_id, content.estimator_tags(estimator))
        if options.log_datasets:
            content.log_training_dataset(client, run_id, data)
    result = original(estimator, *args, **kwargs)
    if data is not None:
        _log_after_training(client, run_id, estimator, data, options)
    return result


def _log_after_training(
    client: Any, run_id: str, estimator: Any, data: content.TrainingData, options: content.Options
) -> None:
    """Each part is logged on its own: one failing (a warning) does not lose the others."""
    example, signature = None, None
    if options.log_models and (options.log_input_examples or options.log_model_signatures):
        try:
            example = content.input_example(data)
            if options.log_model_signatures:
                signature = content.infer_model_signature(estimator, example)
        except Exception as exc:  # noqa: BLE001 - the model is still logged, without a signature
            content.logger.warning("Could not infer the model signature: %s", exc)
    if options.log_models:
        with _warn_on_failure("logging the model"):
            content.log_model(estimator, "model", run_id, options, signature, example, register=True)
    with _warn_on_failure("logging training metrics"):
        metrics = content.training_metrics(estimator, data, options.pos_label)
        if metrics:
            content.log_metrics(client, run_id, metrics)
        elif data.y is None:
            content.logger.warning(
                "Training metrics are not recorded because training labels were not given to %s",
                type(estimator).__name__,
            )
    from sklearn.base import is_classifier

    if is_classifier(estimator) and data.y is not None:
        with _warn_on_failure("plotting classifier artifacts"), tempfile.TemporaryDirectory(prefix="trackflow-") as tmp:
            if content.classifier_plots(estimator, data, Path(tmp)):
                client.log_artifacts(run_id, tmp)
    with _warn_on_failure("logging estimator.html"):
        client.log_text(run_id, content.estimator_html(estimator), "estimator.html")
    if content.is_parameter_search(estimator):
        with _warn_on_failure("logging the parameter search"):
            content.log_parameter_search(client, run_id, estimator, options, signature, example)


@contextmanager
def _warn_on_failure(what: str) -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - autologging never breaks the user's training
        content.logger.warning("sklearn autologging failed while %s: %s", what, exc, exc_info=True)
