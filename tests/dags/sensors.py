"""Sensors in the three ways they wait: poke, reschedule and deferral (tests/pipelines/test_sensors.py)."""
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sensor_triggers import BrokenTrigger, CountdownTrigger, NeverTrigger

from trackflow import dag, task
from trackflow.operators import BaseOperator
from trackflow.sensors import DateTimeSensorAsync, FileSensor, PokeReturnValue, PythonSensor

OUT = Path(os.environ.get("TF_TEST_OUT", "/tmp"))


def count_poke(name: str, done_at: int) -> bool:
    path = OUT / f"{name}.pokes"
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n >= done_at


class WaitThenAdd(BaseOperator):
    """Defers to a CountdownTrigger, then adds the event to its kwargs."""

    def __init__(self, *, trigger: str = "countdown", timeout: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.trigger = trigger
        self.wait_timeout = timeout

    def execute(self, context):
        context["ti"].xcom_push("before", "pushed before deferring")
        trigger = {"countdown": CountdownTrigger(0.5, "t1"), "broken": BrokenTrigger(),
                   "never": NeverTrigger()}[self.trigger]
        self.defer(trigger=trigger, method_name="resume", kwargs={"base": 40}, timeout=self.wait_timeout)

    def resume(self, context, event, base):
        return {"total": base + 2, "event": event, "try": context["ti"].try_number}


@dag(schedule=None, start_date=datetime(2025, 1, 1))
def sensors():
    poke = PythonSensor(task_id="poke_mode", python_callable=count_poke, op_args=["poke_mode", 3],
                        poke_interval=0.1)
    resched = PythonSensor(task_id="reschedule_mode", python_callable=count_poke, op_args=["reschedule_mode", 3],
                           poke_interval=0.2, mode="reschedule", retries=2)
    at = DateTimeSensorAsync(task_id="deferred_sensor",
                             target_time="{{ (dag_run.start_date + macros.timedelta(seconds=1)).isoformat() }}")
    custom = WaitThenAdd(task_id="custom_trigger")

    @task.sensor(poke_interval=0.1, timeout=30)
    def value_sensor():
        return PokeReturnValue(is_done=count_poke("value_sensor", 2), xcom_value={"rows": 3})

    @task
    def use(value):
        return value["rows"] * 2

    soft = PythonSensor(task_id="soft_timeout", python_callable=lambda: False, poke_interval=0.2, timeout=0.6,
                        mode="reschedule", soft_fail=True)
    hard = PythonSensor(task_id="hard_timeout", python_callable=lambda: False, poke_interval=0.2, timeout=0.6,
                        retries=3)
    file = FileSensor(task_id="file_deferred", filepath=str(OUT / "arrived-*.csv"), poke_interval=0.2,
                      deferrable=True)
    broken = WaitThenAdd(task_id="broken_trigger", trigger="broken")
    late = WaitThenAdd(task_id="deferral_timeout", trigger="never", timeout=1.0)

    @task
    def drop_file():
        (OUT / "arrived-1.csv").write_text("a,b\n")

    poke >> resched >> at >> custom
    use(value_sensor())
    soft
    hard
    drop_file() >> file
    broken
    late


sensors()


@dag(schedule=None, start_date=datetime(2025, 1, 1), max_active_tasks=4)
def many_deferred():
    """100 deferred sensors on a 4-slot run: none holds a slot while it waits."""
    target = (datetime.now(UTC) + timedelta(seconds=float(os.environ.get("TF_DEFER_SECONDS", "6")))).isoformat()
    for i in range(100):
        DateTimeSensorAsync(task_id=f"wait_{i:03d}", target_time=os.environ.get("TF_DEFER_TARGET", target))


many_deferred()
