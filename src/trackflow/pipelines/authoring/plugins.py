"""``airflow.plugins_manager.AirflowPlugin``, so that Airflow plugin modules import.

Airflow must be told about a custom timetable or priority weight strategy through a plugin
before its scheduler can load it. trackflow needs no registration: a DAG's timetable or
strategy is found by its import path (pipelines/custom_timetables.py, authoring/
priority_strategy.py). A plugin class is therefore only checked to be well formed; what it
lists is already usable without it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from trackflow.errors import InvalidInput


class AirflowPlugin:
    """Base of an Airflow plugin class: ``name`` plus lists of what it provides."""

    name: ClassVar[str | None] = None
    timetables: ClassVar[list[type]] = []
    priority_weight_strategies: ClassVar[list[type]] = []
    listeners: ClassVar[list[Any]] = []
    macros: ClassVar[list[Any]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.name, str) or not cls.name:
            raise InvalidInput(f"plugin class {cls.__name__} must set name to a non-empty string")
