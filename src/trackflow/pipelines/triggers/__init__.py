"""Triggers that deferred tasks wait on, and the triggerer that runs them (see base.py)."""

from trackflow.pipelines.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent
from trackflow.pipelines.triggers.file import DirectoryFileDeleteTrigger, FileDeleteTrigger, FileTrigger
from trackflow.pipelines.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger

__all__ = ["BaseEventTrigger", "BaseTrigger", "DateTimeTrigger", "DirectoryFileDeleteTrigger", "FileDeleteTrigger",
           "FileTrigger", "TimeDeltaTrigger", "TriggerEvent"]
