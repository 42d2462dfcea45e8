"""Exceptions a task raises to steer its own outcome (Airflow's names, for easy porting)."""

from __future__ import annotations


class AirflowException(Exception):
    """A task failure (retried if the task has retries left)."""


class AirflowSkipException(AirflowException):
    """Raised inside a task: the task ends as skipped."""


class AirflowFailException(AirflowException):
    """Raised inside a task: the task fails without using its remaining retries."""


class AirflowTaskTimeout(AirflowException):
    """The task ran longer than its execution_timeout."""


TaskSkipped = AirflowSkipException
TaskFailedNoRetry = AirflowFailException
TaskTimeout = AirflowTaskTimeout
