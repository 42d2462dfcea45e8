"""A priority weight strategy imported by its path (tests/pipelines/test_priority_strategy.py)."""
from trackflow import PriorityWeightStrategy


class ByLastLetter(PriorityWeightStrategy):
    """Later letters first: task "c" weighs 3, "a" 1; every retry of it weighs less."""

    def get_weight(self, ti):
        return ord(ti.task_id[-1]) - ord("a") + 1 - ti.try_number
