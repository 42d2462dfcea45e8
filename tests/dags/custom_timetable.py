"""DAGs on timetables of their own (Airflow's Timetable API), for tests/pipelines/test_custom_timetables.py."""
from datetime import datetime, timedelta

from trackflow import DAG, DagRunInfo, DataInterval, Timetable
from trackflow.operators import EmptyOperator


class WeekdaysAt(Timetable):
    """A run per weekday, over [that day at ``hour``, the next weekday at ``hour``]."""

    def __init__(self, hour: int) -> None:
        self.hour = hour

    @classmethod
    def deserialize(cls, data):
        return cls(data["hour"])

    def serialize(self):
        return {"hour": self.hour}

    def validate(self):
        if not 0 <= self.hour < 24:
            raise ValueError(f"hour {self.hour} is not 0-23")

    @property
    def summary(self):
        return f"weekdays at {self.hour:02d}:00"

    @staticmethod
    def _weekday(day):
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def infer_manual_data_interval(self, *, run_after):
        end = run_after.replace(minute=0, second=0, microsecond=0)
        return DataInterval(end - timedelta(hours=1), end)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        if last_automated_data_interval is not None:
            start = last_automated_data_interval.end
        elif restriction.earliest is None:
            return None
        else:
            start = restriction.earliest.replace(hour=self.hour, minute=0, second=0, microsecond=0)
        start = self._weekday(start)
        if restriction.latest is not None and start > restriction.latest:
            return None
        return DagRunInfo.interval(start, self._weekday(start + timedelta(days=1)))


class Broken(Timetable):
    def infer_manual_data_interval(self, *, run_after):
        raise RuntimeError("no calendar today")

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        raise RuntimeError("no calendar today")


with DAG("weekdays_at_six", schedule=WeekdaysAt(6), start_date=datetime(2025, 1, 3), end_date=datetime(2025, 1, 8),
         catchup=True):
    EmptyOperator(task_id="only")

with DAG("broken_timetable", schedule=Broken(), start_date=datetime(2025, 1, 1), catchup=True):
    EmptyOperator(task_id="only")
