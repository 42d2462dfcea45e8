"""Triggers that deferred tasks wait on, and the triggerer that runs them (see base.py)."""

from trackflow.pipelines.triggers.base import BaseTrigger, TriggerEvent
from trackflow.pipelines.triggers.file import FileTrigger
from trackflow.pipelines.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

__all__ = ["BaseTrigger", "DateTimeTrigger", "FileTrigger", "TimeDeltaTrigger", "TriggerEvent"]
