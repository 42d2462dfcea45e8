"""Every estimator ``sklearn.utils.all_estimators()`` lists, built and paired with a small
dataset suited to it, for the autologging coverage test.

An estimator is built with its defaults unless REQUIRED_ARGS says otherwise (meta-estimators
need their base estimators, a few need sizes that fit 45 rows). Its kind (classifier,
regressor, clusterer, outlier detector, transformer) picks the data and what is asserted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn import base
from sklearn.utils import all_estimators

N_ROWS = 45


def _rng() -> np.random.Generator:
    return np.random.default_rng(7)


def classification_data() -> tuple[np.ndarray, np.ndarray]:
    """Three separable classes, small non-negative integer features (the NB variants need
    counts; CategoricalNB categories)."""
    rng = _rng()
    y = np.repeat([0, 1, 2], N_ROWS // 3)
    X = rng.integers(0, 3, size=(N_ROWS, 4)).astype(float) + y[:, None] * 2.0
    return X, y


def regression_data() -> tuple[np.ndarray, np.ndarray]:
    """Positive targets (GammaRegressor, PoissonRegressor need them)."""
    rng = _rng()
    X = rng.uniform(0.0, 2.0, size=(N_ROWS, 4))
    y = 1.0 + X @ np.array([1.0, 2.0, 0.5, 0.0]) + rng.normal(0.0, 0.05, N_ROWS)
    return X, y


def unlabelled_data() -> np.ndarray:
    """Three blobs, non-negative (NMF, LatentDirichletAllocation, AdditiveChi2Sampler need it)."""
    rng = _rng()
    centres = np.repeat([[1.0, 1.0, 1.0, 1.0], [4.0, 4.0, 1.0, 1.0], [1.0, 4.0, 4.0, 1.0]], N_ROWS // 3, axis=0)
    return np.abs(centres + rng.normal(0.0, 0.3, size=(N_ROWS, 4)))


def _classifier() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=200)


def _regressor() -> Any:
    from sklearn.linear_model import Ridge

    return Ridge()


# fitted once at import (test collection), before any test turns autologging on
FITTED_CLASSIFIER = _classifier().fit(*classification_data())


def _meta(**kwargs: Callable[[], Any]) -> Callable[[], dict[str, Any]]:
    return lambda: {k: make() for k, make in kwargs.items()}


# name -> the constructor arguments it cannot do without (built fresh for every test)
REQUIRED_ARGS: dict[str, Callable[[], dict[str, Any]]] = {
    "ClassifierChain": _meta(estimator=_classifier),
    "RegressorChain": _meta(estimator=_regressor),
    "MultiOutputClassifier": _meta(estimator=_classifier),
    "MultiOutputRegressor": _meta(estimator=_regressor),
    "OneVsOneClassifier": _meta(estimator=_classifier),
    "OneVsRestClassifier": _meta(estimator=_classifier),
    "OutputCodeClassifier": _meta(estimator=_classifier),
    "SelfTrainingClassifier": _meta(estimator=_classifier),
    "FixedThresholdClassifier": _meta(estimator=_classifier),
    "TunedThresholdClassifierCV": _meta(estimator=_classifier),
    "FrozenEstimator": lambda: {"estimator": FITTED_CLASSIFIER},
    "StackingClassifier": lambda: {"estimators": [("lr", _classifier()), ("lr2", _classifier())]},
    "StackingRegressor": lambda: {"estimators": [("ridge", _regressor()), ("ridge2", _regressor())]},
    "VotingClassifier": lambda: {"estimators": [("lr", _classifier()), ("lr2", _classifier())]},
    "VotingRegressor": lambda: {"estimators": [("ridge", _regressor()), ("ridge2", _regressor())]},
    "GridSearchCV": lambda: {"estimator": _classifier(), "param_grid": {"C": [0.1, 1.0]}, "cv": 3},
    "RandomizedSearchCV": lambda: {
        "estimator": _classifier(),
        "param_distributions": {"C": [0.1, 1.0, 10.0]},
        "n_iter": 2,
        "cv": 3,
        "random_state": 0,
    },
    "Pipeline": lambda: {"steps": [("pca", _pca()), ("lr", _classifier())]},
    "FeatureUnion": lambda: {"transformer_list": [("pca", _pca()), ("pca2", _pca())]},
    "SparseCoder": lambda: {"dictionary": np.eye(4)},
    # n_components must fit one target or few rows
    "CCA": lambda: {"n_components": 1},
    "PLSSVD": lambda: {"n_components": 1},
    "PLSCanonical": lambda: {"n_components": 1},
    # defaults ask for more rows than the 45 here
    "TSNE": lambda: {"perplexity": 5.0},
    "GaussianRandomProjection": lambda: {"n_components": 2},
    "SparseRandomProjection": lambda: {"n_components": 2},
    "Nystroem": lambda: {"n_components": 10},
    "RadiusNeighborsRegressor": lambda: {"radius": 5.0},
    "RadiusNeighborsClassifier": lambda: {"radius": 5.0},
}


def _pca() -> Any:
    from sklearn.decomposition import PCA

    return PCA(n_components=2)


# estimators whose targets are a matrix (one column per task)
MULTI_TARGET = {
    "MultiTaskElasticNet", "MultiTaskElasticNetCV", "MultiTaskLasso", "MultiTaskLassoCV",
    "MultiOutputRegressor", "RegressorChain",
}  # fmt: skip
MULTI_LABEL = {"ClassifierChain", "MultiOutputClassifier"}
BINARY = {"FixedThresholdClassifier", "TunedThresholdClassifierCV"}
ONE_FEATURE = {"IsotonicRegression"}
# transformers that learn from labels all the same
CLASS_LABELLED_TRANSFORMERS = {"NeighborhoodComponentsAnalysis"}
TARGET_LABELLED_TRANSFORMERS = {"PLSSVD"}


@dataclass
class Case:
    name: str
    cls: type
    kind: str  # classifier | regressor | clusterer | outlier | transformer

    def build(self) -> Any:
        return self.cls(**REQUIRED_ARGS.get(self.name, dict)())

    def data(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(X, y) to fit on; y is None for estimators that learn without labels."""
        if self.kind == "classifier":
            X, y = classification_data()
            if self.name in MULTI_LABEL:
                return X, np.stack([y == 0, y == 1], axis=1).astype(int)
            if self.name in BINARY:
                return X, (y == 2).astype(int)
            return X, y
        if self.kind == "regressor":
            X, y = regression_data()
            if self.name in ONE_FEATURE:
                return X[:, :1], y
            if self.name in MULTI_TARGET:
                return X, np.stack([y, 2 * y], axis=1)
            return X, y
        if self.name in CLASS_LABELLED_TRANSFORMERS:
            return classification_data()
        if self.name in TARGET_LABELLED_TRANSFORMERS:
            return regression_data()
        return unlabelled_data(), None


def kind_of(cls: type) -> str:
    if base.is_classifier(cls):
        return "classifier"
    if base.is_regressor(cls):
        return "regressor"
    if base.is_clusterer(cls):
        return "clusterer"
    if base.is_outlier_detector(cls):
        return "outlier"
    return "transformer"


def all_estimator_names() -> set[str]:
    return {name for name, _ in all_estimators()}


def all_cases(excluding: set[str]) -> list[Case]:
    """A case for every estimator but those named in ``excluding``."""
    cases = []
    for name, cls in all_estimators():
        if name in excluding:
            continue
        probe = cls(**REQUIRED_ARGS.get(name, dict)())
        cases.append(Case(name, cls, kind_of(probe)))
    return cases
