"""Sensors and triggers: ``from trackflow.sensors import PythonSensor, FileSensor, ...``
(see pipelines/authoring/sensors.py for how they wait)."""

from trackflow.pipelines.authoring.exceptions import AirflowRescheduleException, AirflowSensorTimeout, TaskDeferred
from trackflow.pipelines.authoring.sensors import (
    BaseSensorOperator,
    DateTimeSensor,
    DateTimeSensorAsync,
    ExternalTaskMarker,
    ExternalTaskSensor,
    FileSensor,
    PokeReturnValue,
    PythonSensor,
    TimeDeltaSensor,
    TimeDeltaSensorAsync,
)
from trackflow.pipelines.triggers import BaseTrigger, DateTimeTrigger, FileTrigger, TimeDeltaTrigger, TriggerEvent

__all__ = [
    "AirflowRescheduleException",
    "AirflowSensorTimeout",
    "BaseSensorOperator",
    "BaseTrigger",
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
    "TriggerEvent",
]
