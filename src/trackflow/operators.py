"""Standard operators: ``from trackflow.operators import PythonOperator, BashOperator, ...``."""

from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.branch_operators import (
    BaseBranchOperator,
    BranchDateTimeOperator,
    BranchDayOfWeekOperator,
    LatestOnlyOperator,
)
from trackflow.pipelines.authoring.isolated_python import (
    BranchExternalPythonOperator,
    BranchPythonVirtualenvOperator,
    ExternalPythonOperator,
    PythonVirtualenvOperator,
)
from trackflow.pipelines.authoring.operators import (
    BashOperator,
    BranchPythonOperator,
    EmptyOperator,
    PythonOperator,
    ShortCircuitOperator,
)
from trackflow.pipelines.authoring.trigger_dagrun import TriggerDagRunOperator
from trackflow.pipelines.authoring.weekday import WeekDay

__all__ = [
    "BaseBranchOperator",
    "BaseOperator",
    "BashOperator",
    "BranchDateTimeOperator",
    "BranchDayOfWeekOperator",
    "BranchExternalPythonOperator",
    "BranchPythonOperator",
    "BranchPythonVirtualenvOperator",
    "EmptyOperator",
    "ExternalPythonOperator",
    "LatestOnlyOperator",
    "PythonOperator",
    "PythonVirtualenvOperator",
    "ShortCircuitOperator",
    "TriggerDagRunOperator",
    "WeekDay",
]
