"""Standard operators: ``from trackflow.operators import PythonOperator, BashOperator, ...``."""

from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from trackflow.pipelines.authoring.trigger_dagrun import TriggerDagRunOperator

__all__ = [
    "BaseOperator",
    "BashOperator",
    "BranchPythonOperator",
    "EmptyOperator",
    "PythonOperator",
    "ShortCircuitOperator",
    "TriggerDagRunOperator",
]
