"""``TriggerDagRunOperator``: start a run of another DAG from a task, and optionally wait for it
(polling in the task, or deferred to a DagStateTrigger), as Airflow's."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from trackflow.entities.pipelines import RunState
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.exceptions import AirflowException, AirflowSkipException

XCOM_RUN_ID = "trigger_run_id"
XCOM_LOGICAL_DATE_ISO = "trigger_logical_date_iso"


class DagRunAlreadyExists(AirflowException):
    """The run to trigger exists already (and ``reset_dag_run`` is off)."""


class DagIsPaused(AirflowException):
    """``fail_when_dag_is_paused`` and the DAG to trigger is paused."""


def _parse_date(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"logical_date {value!r} is not an ISO 8601 datetime") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class TriggerDagRunOperator(BaseOperator):
    """Triggers a run of ``trigger_dag_id`` (``conf``, ``logical_date`` and ``trigger_run_id``
    are templated). An existing run is cleared and run again with ``reset_dag_run``, skips the
    task with ``skip_when_already_exists``, else fails it. ``wait_for_completion``: the task
    ends when the run does — failed if it ends in ``failed_states``."""

    template_fields: tuple[str, ...] = ("trigger_dag_id", "trigger_run_id", "logical_date", "conf")
    ui_color = "#ffefeb"

    def __init__(self, *, trigger_dag_id: str, trigger_run_id: str | None = None, conf: dict[str, Any] | None = None,
                 logical_date: str | datetime | None = None, reset_dag_run: bool = False,
                 wait_for_completion: bool = False, poke_interval: float = 60,
                 allowed_states: Iterable[str] | None = None, failed_states: Iterable[str] | None = None,
                 skip_when_already_exists: bool = False, fail_when_dag_is_paused: bool = False,
                 deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(trigger_dag_id, str) or not trigger_dag_id:
            raise InvalidInput(f"{self.task_id!r}: trigger_dag_id must be a non-empty string")
        if conf is not None and not isinstance(conf, dict):
            raise InvalidInput(f"{self.task_id!r}: conf must be a dict")
        self.trigger_dag_id = trigger_dag_id
        self.trigger_run_id = trigger_run_id
        self.conf: Any = conf
        self.logical_date: Any = logical_date
        self.reset_dag_run = reset_dag_run
        self.wait_for_completion = wait_for_completion
        self.poke_interval = float(poke_interval)
        self.allowed_states = [str(s) for s in (allowed_states or [RunState.SUCCESS])]
        self.failed_states = [str(s) for s in (failed_states or [RunState.FAILED])]
        self.skip_when_already_exists = skip_when_already_exists
        self.fail_when_dag_is_paused = fail_when_dag_is_paused
        self.deferrable = deferrable

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context["ti"]
        logical_date = _parse_date(self.logical_date) or datetime.now(UTC)
        run_id = self.trigger_run_id or f"manual__{logical_date.isoformat()}"
        try:
            ti.trigger_dag_run(self.trigger_dag_id, run_id, self.conf or {}, logical_date, self.reset_dag_run,
                               self.fail_when_dag_is_paused)
        except AlreadyExists as exc:
            if self.skip_when_already_exists:
                raise AirflowSkipException(f"run {run_id!r} of {self.trigger_dag_id} exists already: skipping") \
                    from None
            raise DagRunAlreadyExists(exc.message) from None
        except Conflict as exc:
            raise DagIsPaused(exc.message) from None
        except NotFound as exc:
            raise AirflowException(exc.message) from None
        print(f"Triggered run {run_id} of DAG {self.trigger_dag_id}", flush=True)
        ti.xcom_push(XCOM_RUN_ID, run_id)
        ti.xcom_push(XCOM_LOGICAL_DATE_ISO, logical_date.isoformat())
        if not self.wait_for_completion:
            return None
        if self.deferrable:
            from trackflow.pipelines.triggers.dag_state import DagStateTrigger

            self.defer(trigger=DagStateTrigger(self.trigger_dag_id, run_id,
                                               [*self.allowed_states, *self.failed_states], self.poke_interval),
                       method_name="execute_complete", kwargs={"run_id": run_id})
        while True:
            state = ti.dag_run_state(self.trigger_dag_id, run_id)
            print(f"Waiting for run {run_id} of {self.trigger_dag_id}: {state}", flush=True)
            if state in self.failed_states or state in self.allowed_states:
                return self._ended(run_id, state)
            time.sleep(self.poke_interval)

    def execute_complete(self, context: dict[str, Any], event: Any = None, run_id: str = "") -> None:
        state = (event or {}).get("state") if isinstance(event, dict) else None
        return self._ended(run_id, str(state))

    def _ended(self, run_id: str, state: str) -> None:
        if state in self.failed_states:
            raise AirflowException(f"run {run_id} of {self.trigger_dag_id} ended {state}")
        print(f"Run {run_id} of {self.trigger_dag_id} ended {state}", flush=True)
        return None
