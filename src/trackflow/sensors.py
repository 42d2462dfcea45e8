"""Sensors and triggers: ``from trackflow.sensors import PythonSensor, FileSensor, ...``
(see pipelines/authoring/sensors.py for how they wait)."""

from trackflow.pipelines.authoring.exceptions import AirflowRescheduleException, AirflowSensorTimeout, TaskDeferred
from trackflow.pipelines.authoring.sensors import (
    BaseSensorOperator,
    BashSensor,
    DateTimeSensor,
    DateTimeSensorAsync,
    DayOfWeekSensor,
    ExternalTaskMarker,
    ExternalTaskSensor,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensor,
)
from trackflow.pipelines.triggers import (
    BaseEventTrigger,
    BaseTrigger,
    DateTimeTrigger,
    DirectoryFileDeleteTrigger,
    FileDeleteTrigger,
    FileTrigger,
    TimeDeltaTrigger,
    TriggerEvent,
)

__all__ = [
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "BaseEventTrigger",
    "BaseSensorOperator",
    "BaseTrigger",
    "BashSensor",
    "DateTimeSensor",
    "DateTimeSensorAsync",
    "DateTimeTrigger",
    "DayOfWeekSensor",
    "DirectoryFileDeleteTrigger",
    "ExternalTaskMarker",
    "ExternalTaskSensor",
    "FileDeleteTrigger",
    "FileSensor",
    "FileTrigger",
    "PokeReturnValue",
    "PythonSensor",
    "TaskDeferred",
    "TimeDeltaSensor",
    "TimeDeltaSensorAsync",
    "TimeDeltaTrigger",
    "TimeSensor",
    "TriggerEvent",
]
