"""Sensors: tasks that wait for a condition (Airflow's ``BaseSensorOperator`` and the standard
sensors), and the ways they wait:

* ``mode="poke"``: the task process pokes every ``poke_interval`` and sleeps in between
  (it holds a worker slot the whole time);
* ``mode="reschedule"``: between pokes the try ends as ``up_for_reschedule`` and gives its
  slot back; the scheduler queues it again when the next poke is due (the same try);
* ``deferrable=True`` (sensors that support it): the try defers to a trigger that the
  triggerer runs, and resumes in ``execute_complete`` when it fires; no slot is held.

``timeout`` counts from the first poke of the try (across reschedules); past it the sensor
fails without retrying (``AirflowSensorTimeout``), or is skipped with ``soft_fail=True``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from trackflow.entities.pipelines import TIState
from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferralError,
    TaskDeferralTimeout,
)
from trackflow.pipelines.authoring.operators import EmptyOperator, call_with_context

MODES = ("poke", "reschedule")


def _seconds(value: timedelta | float | int, name: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise InvalidInput(f"{name} must be a non-negative number of seconds or a timedelta, got {value!r}")
    return float(seconds)


class PokeReturnValue:
    """What a poke may return instead of a bool: whether it is done, and the task's output."""

    def __init__(self, is_done: bool, xcom_value: Any | None = None) -> None:
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return bool(self.is_done)

    def __repr__(self) -> str:
        return f"PokeReturnValue(is_done={self.is_done!r}, xcom_value={self.xcom_value!r})"


class BaseSensorOperator(BaseOperator):
    """Subclass with ``poke(context) -> bool | PokeReturnValue``."""

    ui_color = "#e6f1f2"

    def __init__(self, *, poke_interval: timedelta | float = 60, timeout: timedelta | float = 60 * 60 * 24 * 7,
                 soft_fail: bool = False, mode: str = "poke", exponential_backoff: bool = False,
                 max_wait: timedelta | float | None = None, silent_fail: bool = False, never_fail: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in MODES:
            raise InvalidInput(f"sensor {self.task_id!r}: mode must be one of {', '.join(MODES)}, got {mode!r}")
        if soft_fail and never_fail:
            raise InvalidInput(f"sensor {self.task_id!r}: soft_fail and never_fail cannot both be set")
        self.poke_interval = _seconds(poke_interval, "poke_interval")
        self.timeout = _seconds(timeout, "timeout")
        self.max_wait = None if max_wait is None else _seconds(max_wait, "max_wait")
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.silent_fail = silent_fail
        self.never_fail = never_fail

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        raise NotImplementedError(f"{type(self).__name__} must implement poke()")

    def _poke_once(self, context: dict[str, Any]) -> tuple[bool, Any]:
        try:
            result = self.poke(context)
        except (AirflowSkipException, AirflowFailException):
            raise
        except Exception as exc:
            if self.never_fail:
                raise AirflowSkipException(f"sensor failed and never_fail is set: {exc}") from exc
            if not self.silent_fail:
                raise
            print(f"Poke failed ({type(exc).__name__}: {exc}); silent_fail is set: poking again", flush=True)
            return False, None
        if isinstance(result, PokeReturnValue):
            return bool(result.is_done), result.xcom_value
        return bool(result), None

    def next_interval(self, pokes: int, elapsed: float) -> float:
        """Seconds to the next poke: ``poke_interval``, doubling per poke with exponential
        backoff (capped by ``max_wait``), never past the timeout."""
        interval = self.poke_interval
        if self.exponential_backoff:
            interval = max(self.poke_interval, 1.0) * 2 ** min(pokes, 40)
            if self.max_wait is not None:
                interval = min(interval, self.max_wait)
        return max(0.0, min(interval, self.timeout - elapsed))

    def _timed_out(self, elapsed: float) -> None:
        message = (f"Sensor has timed out; run duration of {elapsed:.1f} seconds exceeds the specified timeout "
                   f"of {self.timeout:g}.")
        if self.soft_fail or self.never_fail:
            raise AirflowSkipException(message)
        raise AirflowSensorTimeout(message)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None,
                         context: dict[str, Any]) -> Any:
        """A deferred sensor whose wait timed out fails without retrying, as its pokes would
        (skipped with ``soft_fail``, which also skips a failed trigger), as Airflow's."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except TaskDeferralTimeout as exc:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(f"Sensor timed out: {exc}") from exc
            raise AirflowSensorTimeout(str(exc)) from exc
        except (AirflowException, TaskDeferralError) as exc:
            if self.soft_fail or self.never_fail:
                raise AirflowSkipException(str(exc)) from exc
            raise

    def execute(self, context: dict[str, Any]) -> Any:
        ti = context.get("ti")
        now = datetime.now(UTC)
        started = (getattr(ti, "first_poke_date", None) if self.reschedule else None) or now
        pokes = 0
        while True:
            done, value = self._poke_once(context)
            if done:
                print(f"Success criteria met. Exiting after {pokes + 1} poke(s).", flush=True)
                return value
            now = datetime.now(UTC)
            elapsed = (now - started).total_seconds()
            if elapsed > self.timeout:
                self._timed_out(elapsed)
            interval = self.next_interval(pokes, elapsed)
            if self.reschedule:
                raise AirflowRescheduleException(now + timedelta(seconds=interval))
            time.sleep(interval)
            pokes += 1


class PythonSensor(BaseSensorOperator):
    """Pokes with ``python_callable`` (context entries it names are passed, as PythonOperator)."""

    template_fields: tuple[str, ...] = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable: Callable[..., Any], op_args: Iterable[Any] | None = None,
                 op_kwargs: Mapping[str, Any] | None = None, templates_dict: dict[str, Any] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            raise InvalidInput(f"python_callable of sensor {self.task_id!r} is not callable: {python_callable!r}")
        self.python_callable = python_callable
        self.op_args: Any = list(op_args or [])
        self.op_kwargs: Any = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        self._link_xcom_args([self.op_args, self.op_kwargs])

    def poke(self, context: dict[str, Any]) -> bool | PokeReturnValue:
        context = {**context, "templates_dict": self.templates_dict}
        result = call_with_context(self.python_callable, self.op_args, self.op_kwargs, context)
        return result if isinstance(result, PokeReturnValue) else bool(result)


class DecoratedSensorOperator(PythonSensor):
    """The operator behind ``@task.sensor``."""

    custom_operator_name = "@task.sensor"

    def __init__(self, *, multiple_outputs: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.multiple_outputs = multiple_outputs


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class DateTimeSensor(BaseSensorOperator):
    """Waits until ``target_time`` (a datetime, or a templated ISO string). With
    ``deferrable=True`` it defers to a DateTimeTrigger instead of poking."""

    template_fields: tuple[str, ...] = ("target_time",)

    def __init__(self, *, target_time: str | datetime, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_time, (str, datetime)):
            raise InvalidInput(f"target_time of {self.task_id!r} must be a datetime or a string, "
                               f"got {type(target_time).__name__}")
        self.target_time: Any = target_time.isoformat() if isinstance(target_time, datetime) else target_time
        self.deferrable = deferrable

    def moment(self) -> datetime:
        try:
            return _aware(datetime.fromisoformat(str(self.target_time)))
        except ValueError:
            raise AirflowFailException(f"target_time {self.target_time!r} is not an ISO 8601 datetime") from None

    def poke(self, context: dict[str, Any]) -> bool:
        print(f"Checking if the time ({self.target_time}) has come", flush=True)
        return datetime.now(UTC) > self.moment()

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from trackflow.pipelines.triggers.temporal import DateTimeTrigger

        self.defer(trigger=DateTimeTrigger(self.moment()), method_name="execute_complete")

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        return None


class DateTimeSensorAsync(DateTimeSensor):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deferrable=True, **kwargs)


def _target_after(context: dict[str, Any], delta: timedelta) -> datetime:
    """Airflow's TimeDeltaSensor target: the end of the run's data interval (its run_after when
    it has none) plus ``delta``."""
    base = context.get("data_interval_end") or context.get("run_after") or datetime.now(UTC)
    return _aware(base) + delta


class TimeDeltaSensor(BaseSensorOperator):
    """Waits until ``delta`` after the run's data interval ends; ``deferrable=True`` defers."""

    def __init__(self, *, delta: timedelta, deferrable: bool = False, end_from_trigger: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(delta, timedelta):
            raise InvalidInput(f"delta of {self.task_id!r} must be a timedelta, got {type(delta).__name__}")
        self.delta = delta
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger

    def poke(self, context: dict[str, Any]) -> bool:
        target = _target_after(context, self.delta)
        print(f"Checking if the time ({target.isoformat()}) has come", flush=True)
        return datetime.now(UTC) > target

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from trackflow.pipelines.triggers.temporal import DateTimeTrigger

        target = _target_after(context, self.delta)
        if datetime.now(UTC) > target:
            return None  # already past: nothing to wait for
        self.defer(trigger=DateTimeTrigger(target, end_from_trigger=self.end_from_trigger),
                   method_name="execute_complete")

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        return None


class TimeDeltaSensorAsync(TimeDeltaSensor):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(deferrable=True, **kwargs)


class FileSensor(BaseSensorOperator):
    """Waits for a file, or for a glob pattern (or, ``recursive``, a directory) to match files.
    ``fs_conn_id`` is accepted for Airflow's signature: paths are local to the worker."""

    template_fields: tuple[str, ...] = ("filepath",)

    def __init__(self, *, filepath: str, fs_conn_id: str = "fs_default", recursive: bool = False,
                 deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(filepath, str) or not filepath:
            raise InvalidInput(f"filepath of {self.task_id!r} must be a non-empty string")
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.deferrable = deferrable

    def poke(self, context: dict[str, Any]) -> bool:
        from trackflow.pipelines.triggers.file import matching_files

        print(f"Poking for file {self.filepath}", flush=True)
        found = matching_files(self.filepath, self.recursive)
        for path in found[:10]:
            print(f"Found File {path}", flush=True)
        return bool(found)

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from trackflow.pipelines.triggers.file import FileTrigger

        self.defer(trigger=FileTrigger(self.filepath, self.recursive, self.poke_interval),
                   method_name="execute_complete", timeout=timedelta(seconds=self.timeout))

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        if not event:
            raise AirflowException(f"{self.task_id} failed: {self.filepath} was not found")
        print(f"Found {self.filepath}", flush=True)


class TimeSensor(BaseSensorOperator):
    """Waits until ``target_time`` (a ``datetime.time``, UTC unless it carries a time zone) of
    the day the task runs; ``deferrable=True`` defers to a DateTimeTrigger."""

    def __init__(self, *, target_time: dt_time, deferrable: bool = False, start_from_trigger: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(target_time, dt_time):
            raise InvalidInput(f"target_time of {self.task_id!r} must be a datetime.time, "
                               f"got {type(target_time).__name__}")
        self.target_time = target_time
        self.deferrable = deferrable

    def target(self) -> datetime:
        now = datetime.now(UTC)
        return _aware(datetime.combine(now.date(), self.target_time, self.target_time.tzinfo or UTC))

    def poke(self, context: dict[str, Any]) -> bool:
        target = self.target()
        print(f"Checking if the time ({target.isoformat()}) has come", flush=True)
        return datetime.now(UTC) > target

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from trackflow.pipelines.triggers.temporal import DateTimeTrigger

        target = self.target()
        if datetime.now(UTC) > target:
            return None
        # The wait honours the sensor's timeout (Airflow: soft_fail then skips it).
        self.defer(trigger=DateTimeTrigger(target), method_name="execute_complete",
                   timeout=timedelta(seconds=self.timeout))

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> None:
        return None


class BashSensor(BaseSensorOperator):
    """Pokes by running ``bash_command``: exit code 0 is done; any other code pokes again —
    unless ``retry_exit_code`` is set, then only that code pokes again and others fail."""

    template_fields: tuple[str, ...] = ("bash_command", "env")

    def __init__(self, *, bash_command: str, env: dict[str, str] | None = None, output_encoding: str = "utf-8",
                 retry_exit_code: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise InvalidInput(f"bash_command of {self.task_id!r} must be a non-empty string")
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context: dict[str, Any]) -> bool:
        bash = shutil.which("bash") or "/bin/bash"
        print(f"Running command: {self.bash_command}", flush=True)
        proc = subprocess.run([bash, "-c", self.bash_command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=self.env)
        print(proc.stdout.decode(self.output_encoding, errors="backslashreplace"), end="", flush=True)
        print(f"Command exited with return code {proc.returncode}", flush=True)
        if proc.returncode == 0:
            return True
        if self.retry_exit_code is not None and proc.returncode != self.retry_exit_code:
            raise AirflowFailException(f"Command exited with return code {proc.returncode}")
        return False


class ExternalTaskSensor(BaseSensorOperator):
    """Waits for tasks of another DAG (or, without task ids, the DAG run itself) at the same
    logical date — shifted by ``execution_delta``, or the dates ``execution_date_fn(logical_date,
    context)`` returns — to reach ``allowed_states``. One in ``failed_states`` fails the sensor
    (skips it with ``soft_fail``), one in ``skipped_states`` skips it."""

    template_fields: tuple[str, ...] = ("external_dag_id", "external_task_id", "external_task_ids",
                                        "external_task_group_id")

    def __init__(self, *, external_dag_id: str, external_task_id: str | None = None,
                 external_task_ids: Iterable[str] | None = None, external_task_group_id: str | None = None,
                 allowed_states: Iterable[str] | None = None, skipped_states: Iterable[str] | None = None,
                 failed_states: Iterable[str] | None = None, execution_delta: timedelta | None = None,
                 execution_date_fn: Callable[..., Any] | None = None, check_existence: bool = False,
                 poll_interval: float = 2.0, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if external_task_id is not None and external_task_ids is not None:
            raise InvalidInput(f"sensor {self.task_id!r}: give external_task_id or external_task_ids, not both")
        if execution_delta is not None and execution_date_fn is not None:
            raise InvalidInput(f"sensor {self.task_id!r}: give execution_delta or execution_date_fn, not both")
        if external_task_group_id is not None and (external_task_id is not None or external_task_ids is not None):
            raise InvalidInput(f"sensor {self.task_id!r}: give external_task_group_id or external task ids, not both")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.external_task_ids = list(external_task_ids) if external_task_ids is not None else None
        self.external_task_group_id = external_task_group_id
        self.allowed_states = list(allowed_states or [TIState.SUCCESS])
        self.skipped_states = list(skipped_states or [])
        self.failed_states = list(failed_states or [])
        overlap = set(self.allowed_states) & (set(self.skipped_states) | set(self.failed_states))
        if overlap:
            raise InvalidInput(f"sensor {self.task_id!r}: states both allowed and failed/skipped: {sorted(overlap)}")
        self.execution_delta = execution_delta
        self.execution_date_fn = execution_date_fn
        self.check_existence = check_existence
        self.poll_interval = poll_interval
        self.deferrable = deferrable

    def task_ids(self) -> list[str] | None:
        if self.external_task_id is not None:
            return [self.external_task_id]
        return self.external_task_ids

    def logical_dates(self, context: dict[str, Any]) -> list[datetime]:
        logical_date = context["logical_date"]
        if self.execution_delta is not None:
            return [logical_date - self.execution_delta]
        if self.execution_date_fn is not None:
            result = call_with_context(self.execution_date_fn, [logical_date], {}, context)
            return list(result) if isinstance(result, (list, tuple)) else [result]
        return [logical_date]

    def poke(self, context: dict[str, Any]) -> bool:
        dates = self.logical_dates(context)
        task_ids = self.task_ids()
        group = self.external_task_group_id
        what = f"{self.external_dag_id}" + (f".{','.join(task_ids)}" if task_ids else "") + \
            (f" task group {group!r}" if group else "")
        print(f"Poking for {what} on {', '.join(d.isoformat() for d in dates)} ...", flush=True)
        states = context["ti"].states_of_dag_at(self.external_dag_id, dates, task_ids, group)
        if self.check_existence and not states:
            raise AirflowFailException(f"no run of DAG {self.external_dag_id!r} at those logical dates"
                                       + (f" with task group {group!r}" if group else ""))
        if any(s in self.failed_states for s in states):
            message = f"{what} ended in one of the failed states {self.failed_states}"
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowException(message)
        if any(s in self.skipped_states for s in states):
            raise AirflowSkipException(f"{what} ended in one of the skipped states {self.skipped_states}")
        expected = len(dates) * (len(task_ids) if task_ids else 1)  # a group: at least one task per date
        return len(states) >= expected and all(s in self.allowed_states for s in states)


class ExternalTaskMarker(EmptyOperator):
    """Marks that a task of another DAG depends on this one (clearing this task with its
    downstream should clear that one too in Airflow). Succeeds without running, as Airflow's."""

    template_fields: tuple[str, ...] = ("external_dag_id", "external_task_id", "logical_date")

    def __init__(self, *, external_dag_id: str, external_task_id: str, logical_date: str | datetime | None = None,
                 recursion_depth: int = 10, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not isinstance(recursion_depth, int) or recursion_depth <= 0:
            raise InvalidInput(f"{self.task_id!r}: recursion_depth must be a positive integer")
        self.external_dag_id = external_dag_id
        self.external_task_id = external_task_id
        self.logical_date = logical_date or "{{ logical_date.isoformat() }}"
        self.recursion_depth = recursion_depth


class DayOfWeekSensor(BaseSensorOperator):
    """Waits until today (UTC) is one of ``week_day`` (a day name, a ``WeekDay``, or a set of
    them); with ``use_task_logical_date``, checks the run's logical date once instead."""

    def __init__(self, *, week_day: Any, use_task_logical_date: bool = False, **kwargs: Any) -> None:
        from trackflow.pipelines.authoring.weekday import WeekDay

        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def poke(self, context: dict[str, Any]) -> bool:
        if self.use_task_logical_date:
            day = (context.get("logical_date") or context["dag_run"].run_after).isoweekday()
        else:
            day = datetime.now(UTC).isoweekday()
        print(f"Poking until the week day is in {self.week_day}: it is day {day}", flush=True)
        return day in self._week_day_num
