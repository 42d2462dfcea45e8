"""Standard operators: ``from trackflow.operators import PythonOperator, BashOperator, ...``."""

from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)

__all__ = [
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
]
