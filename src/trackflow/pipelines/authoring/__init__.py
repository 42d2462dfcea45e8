"""Authoring DAGs, mirroring Airflow 3's SDK. Nothing here touches a database."""

from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.context import get_current_context
from trackflow.pipelines.authoring.dag import DAG, dag
from trackflow.pipelines.authoring.dependencies import Label, chain, cross_downstream
from trackflow.pipelines.authoring.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    AirflowTaskTimeout,
)
from trackflow.pipelines.authoring.params import Param
from trackflow.pipelines.authoring.task import setup, task, teardown
from trackflow.pipelines.authoring.taskgroup import TaskGroup, task_group
from trackflow.pipelines.authoring.trigger_rules import TriggerRule
from trackflow.pipelines.authoring.xcom_arg import XComArg

__all__ = [
    "DAG",
    "AirflowException",
    "AirflowFailException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseOperator",
    "Label",
    "Param",
    "TaskGroup",
    "TriggerRule",
    "XComArg",
    "chain",
    "cross_downstream",
    "dag",
    "get_current_context",
    "setup",
    "task",
    "task_group",
    "teardown",
]
