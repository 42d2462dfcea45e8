"""Trigger rules: when a task may run given the states of its direct upstream tasks."""

from __future__ import annotations

import enum

from trackflow.errors import InvalidInput


class TriggerRule(enum.StrEnum):
    """Same names and values as Airflow's ``TriggerRule``."""

    ALL_SUCCESS = "all_success"
    ALL_FAILED = "all_failed"
    ALL_DONE = "all_done"
    ALL_DONE_MIN_ONE_SUCCESS = "all_done_min_one_success"
    ALL_DONE_SETUP_SUCCESS = "all_done_setup_success"
    ALL_SKIPPED = "all_skipped"
    ONE_SUCCESS = "one_success"
    ONE_FAILED = "one_failed"
    ONE_DONE = "one_done"
    NONE_FAILED = "none_failed"
    NONE_SKIPPED = "none_skipped"
    NONE_FAILED_MIN_ONE_SUCCESS = "none_failed_min_one_success"
    ALWAYS = "always"

    @classmethod
    def parse(cls, value: str | TriggerRule) -> TriggerRule:
        try:
            return cls(value)
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise InvalidInput(f"invalid trigger_rule {value!r}; expected one of {allowed}") from None
