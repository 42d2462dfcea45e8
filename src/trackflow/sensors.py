"""Sensors and triggers: ``from trackflow.sensors import PythonSensor, FileSensor, ...``
(see pipelines/authoring/sensors.py for how they wait)."""

from trackflow.pipelines.authoring.exceptions import AirflowRescheduleException, AirflowSensorTimeout, TaskDeferred
from trackflow.pipelines.authoring.sensors import (
    BaseSensorOperator,
    BashSensor,
    DateTimeSensor,
    DateTimeSensorAsync,
    ExternalTaskMarker,
    ExternalTaskSensor,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
    TimeSensor,
)
from trackflow.pipelines.triggers import BaseTrigger, DateTimeTrigger, FileTrigger, TimeDeltaTrigger, TriggerEvent

__all__ = [
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "BaseSensorOperator",
    "BaseTrigger",
    "BashSensor",
    "DateTimeSensor",
    "DateTimeSensorAsync",
    "DateTimeTrigger",
    "ExternalTaskMarker",
    "ExternalTaskSensor",
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
