"""Priority weight strategies (Airflow's ``weight_rule``): how much a task instance weighs
when the scheduler picks which ready task instances go first under pool, max_active_tasks and
executor limits (highest weight first).

``weight_rule`` is ``"downstream"`` (the default: the task's priority_weight plus that of every
task downstream of it), ``"upstream"`` (the same, upstream), ``"absolute"`` (its own), a
:class:`PriorityWeightStrategy` object, or the import path of a PriorityWeightStrategy subclass.

A strategy's ``get_weight(ti)`` is called when the DAG is parsed, with the task instance as
Airflow creates it (try_number 0, map index -1, no run yet): the weight every task instance of
the task gets. Airflow calls it in its scheduler when it creates each task instance; trackflow's
scheduler runs no user code, so a strategy whose weight depends on the run or the map index
gets the same weight for all of them (docs/airflow-differences.md).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from trackflow.errors import InvalidInput


class WeightRule(StrEnum):
    """The built-in weight rules."""

    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"


class PriorityWeightStrategy(ABC):
    """Base of a custom weight rule: ``get_weight(ti)`` returns the task instance's weight.
    Strategies carry no parameters (as in Airflow): two instances of a class are equal."""

    @abstractmethod
    def get_weight(self, ti: Any) -> int:
        """The priority weight of ``ti`` (see :class:`TaskInstanceAtCreation`)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, type(self))

    def __hash__(self) -> int:
        return hash(type(self))


@dataclass(frozen=True)
class TaskInstanceAtCreation:
    """What a strategy's ``get_weight`` is given: the task instance as it is created."""

    task: Any  # the operator
    dag_id: str
    task_id: str
    run_id: str | None = None
    map_index: int = -1
    try_number: int = 0
    max_tries: int = 0
    state: str | None = None

    @property
    def priority_weight(self) -> int:
        return int(self.task.priority_weight)


def parse_weight_rule(value: Any, task_id: str) -> str | PriorityWeightStrategy:
    """A built-in rule's name, or a strategy object (an import path is imported); InvalidInput
    naming the value otherwise."""
    if isinstance(value, PriorityWeightStrategy):
        return value
    if isinstance(value, type) and issubclass(value, PriorityWeightStrategy):
        return value()
    if not isinstance(value, str):
        raise InvalidInput(f"invalid weight_rule {value!r} of task {task_id!r}: use downstream, upstream, absolute, "
                           "a PriorityWeightStrategy or its import path")
    if value in {r.value for r in WeightRule}:
        return str(value)
    module_name, _, name = value.rpartition(".")
    try:
        strategy = getattr(importlib.import_module(module_name), name) if module_name else None
    except (ImportError, AttributeError):
        strategy = None
    if not (isinstance(strategy, type) and issubclass(strategy, PriorityWeightStrategy)):
        raise InvalidInput(f"invalid weight_rule {value!r} of task {task_id!r}: not downstream, upstream, absolute "
                           "nor the import path of a PriorityWeightStrategy subclass")
    return strategy()


def strategy_weight(strategy: PriorityWeightStrategy, task: Any, dag_id: str) -> int:
    """``strategy``'s weight for the task instances of ``task``; InvalidInput if not an int."""
    weight = strategy.get_weight(TaskInstanceAtCreation(task=task, dag_id=dag_id, task_id=task.task_id,
                                                        max_tries=task.retries))
    if not isinstance(weight, int) or isinstance(weight, bool):
        raise InvalidInput(f"weight_rule {type(strategy).__name__} of task {task.task_id!r} returned "
                           f"{weight!r}: get_weight must return an int")
    return weight
