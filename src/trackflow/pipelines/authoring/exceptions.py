"""Exceptions a task raises to steer its own outcome (Airflow's names, for easy porting)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class AirflowException(Exception):
    """A task failure (retried if the task has retries left)."""


class AirflowNotFoundException(AirflowException):
    """Something a DAG asked for by name (a connection's conn_id) is not defined."""


class AirflowSkipException(AirflowException):
    """Raised inside a task: the task ends as skipped."""


class AirflowFailException(AirflowException):
    """Raised inside a task: the task fails without using its remaining retries."""


class AirflowTaskTimeout(AirflowException):
    """The task ran longer than its execution_timeout."""


class AirflowSensorTimeout(AirflowFailException):
    """A sensor waited longer than its ``timeout``: it fails without retrying (as Airflow)."""


class TaskDeferralTimeout(AirflowException):
    """A deferred task's trigger did not fire within the deferral's ``timeout``."""


class TaskDeferralError(AirflowException):
    """A deferred task's trigger failed."""


class AirflowRescheduleException(Exception):
    """Raised by a sensor in ``mode="reschedule"``: the try gives its slot back and pokes again
    at ``reschedule_date`` (the same try, as Airflow)."""

    def __init__(self, reschedule_date: datetime) -> None:
        super().__init__(f"reschedule at {reschedule_date.isoformat()}")
        self.reschedule_date = reschedule_date


class TaskDeferred(BaseException):
    """Raised by ``BaseOperator.defer``: the try ends holding no worker slot; the triggerer
    runs ``trigger``, and its first event resumes the task in ``method_name(context, event=...,
    **kwargs)``. (A BaseException, as Airflow's, so a task's ``except Exception`` lets it pass.)"""

    def __init__(self, *, trigger: Any, method_name: str, kwargs: dict[str, Any] | None = None,
                 timeout: timedelta | int | float | None = None) -> None:
        super().__init__()
        self.trigger = trigger
        self.method_name = method_name
        self.kwargs = kwargs
        self.timeout = timedelta(seconds=timeout) if isinstance(timeout, (int, float)) else timeout

    def __repr__(self) -> str:
        return f"<TaskDeferred trigger={self.trigger!r} method={self.method_name}>"


TaskSkipped = AirflowSkipException
TaskFailedNoRetry = AirflowFailException
TaskTimeout = AirflowTaskTimeout
