"""Airflow's public timetable API: the base class a user's own timetable subclasses.

``from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable``
(or ``from trackflow import ...``). A subclass implements

- ``next_dagrun_info(*, last_automated_data_interval, restriction) -> DagRunInfo | None``: the
  next scheduled run after the last scheduled (or backfill) run's data interval (None: no run
  yet), within ``restriction`` (the DAG's start_date, end_date and catchup); None for no run;
- ``infer_manual_data_interval(*, run_after) -> DataInterval``: the data interval of a run
  triggered by hand (or by ``dags test``) at ``run_after``;
- ``serialize()`` / ``deserialize(data)`` if it has parameters (by default it is rebuilt with
  no arguments), and optionally ``validate()``, ``summary``, ``description``, ``periodic``.

Datetimes given to it are aware ``pendulum.DateTime``; those it returns must be aware.

Unlike Airflow, no plugin registration is needed: trackflow finds the class by its import path.
The scheduler never imports it — it asks a child process (pipelines/custom_timetables.py) —
so a timetable that hangs or crashes costs that evaluation only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple


class DataInterval(NamedTuple):
    """The data interval a DAG run covers (aware datetimes)."""

    start: datetime
    end: datetime

    @classmethod
    def exact(cls, at: datetime) -> DataInterval:
        """An "interval" that is one instant."""
        return cls(start=at, end=at)


class TimeRestriction(NamedTuple):
    """The DAG's limits: no run before ``earliest`` (start_date) or after ``latest``
    (end_date), both inclusive; with ``catchup`` False, missed schedules are not run."""

    earliest: datetime | None
    latest: datetime | None
    catchup: bool


class DagRunInfo(NamedTuple):
    """A run a timetable asks for: created once ``run_after`` has passed, covering
    ``data_interval`` (its start is the run's logical date)."""

    run_after: datetime
    data_interval: DataInterval | None
    partition_date: datetime | None = None
    partition_key: str | None = None

    @classmethod
    def exact(cls, at: datetime) -> DagRunInfo:
        """A run at an exact time."""
        return cls(run_after=at, data_interval=DataInterval.exact(at))

    @classmethod
    def interval(cls, start: datetime, end: datetime) -> DagRunInfo:
        """A run over [start, end], due when the interval ends."""
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @property
    def logical_date(self) -> datetime | None:
        return self.data_interval.start if self.data_interval else None


class Timetable:
    """Base of a user's timetable (Airflow's ``airflow.timetables.base.Timetable``)."""

    description: str = ""
    periodic: bool = True
    can_be_scheduled: bool = True
    run_ordering: Sequence[str] = ("data_interval_end", "logical_date")
    active_runs_limit: int | None = None

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> Timetable:
        """Rebuild from what :meth:`serialize` returned; by default, with no arguments."""
        return cls()

    def serialize(self) -> dict[str, Any]:
        """JSON-serializable parameters, fed to :meth:`deserialize` where the timetable is used."""
        return {}

    def validate(self) -> None:
        """Raise if the timetable is wrongly specified: the DAG file then fails to load with it."""

    @property
    def summary(self) -> str:
        """A short text for the UI and ``dags list``."""
        return type(self).__name__

    def infer_manual_data_interval(self, *, run_after: datetime) -> DataInterval:
        """The data interval of a run triggered at ``run_after``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement infer_manual_data_interval")

    def next_dagrun_info(self, *, last_automated_data_interval: DataInterval | None,
                         restriction: TimeRestriction) -> DagRunInfo | None:
        """The next scheduled run, or None."""
        raise NotImplementedError(f"{type(self).__name__} does not implement next_dagrun_info")
