"""Deterministic evaluation of a model or prompt over a dataset, recorded as a tracked run:
``trackflow.evaluate`` (see run.py) and its scorers (scorers.py)."""

from trackflow.evaluation import scorers
from trackflow.evaluation.run import EvaluationGateFailed, EvaluationResult, evaluate
from trackflow.evaluation.scorers import Scorer, scorer

__all__ = ["EvaluationGateFailed", "EvaluationResult", "Scorer", "evaluate", "scorer", "scorers"]
