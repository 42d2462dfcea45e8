"""Retry policies (Airflow 3.3's ``retry_policy=``): decide from the exception a try failed
with whether it retries (perhaps after a delay of its own), fails at once, or follows the
task's ``retries``/``retry_delay``. Evaluated in the task process, where the exception is;
a policy can fail a task sooner, never retry it past ``retries``. ``AirflowFailException``
and ``AirflowSensorTimeout`` fail without asking the policy."""

from __future__ import annotations

import abc
import enum
import importlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from trackflow.errors import InvalidInput


class RetryAction(enum.Enum):
    RETRY = "retry"  # retry (within the task's retries), with the rule's delay if it has one
    FAIL = "fail"  # fail now, whatever retries are left
    DEFAULT = "default"  # as the task's retries and retry_delay say


@dataclass(frozen=True)
class RetryDecision:
    action: RetryAction = RetryAction.DEFAULT
    retry_delay: timedelta | None = None
    reason: str | None = None

    @classmethod
    def fail(cls, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.FAIL, reason=reason)

    @classmethod
    def retry(cls, delay: timedelta | None = None, reason: str | None = None) -> RetryDecision:
        return cls(RetryAction.RETRY, delay, reason)

    @classmethod
    def default(cls) -> RetryDecision:
        return cls()


class RetryPolicy(abc.ABC):
    """Subclass with :meth:`evaluate` for a policy of your own."""

    @abc.abstractmethod
    def evaluate(self, exception: BaseException, try_number: int, max_tries: int,
                 context: dict[str, Any] | None = None) -> RetryDecision:
        """The decision for a try that failed with ``exception``."""


def _import_class(path: str) -> type[BaseException] | None:
    module, _, name = path.rpartition(".")
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        return None  # a class that is not installed cannot have been raised
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


class RetryRule:
    """``exception``: a class, a dotted import path, or a list of them; the first rule of a
    policy that matches the exception (``isinstance``, or the exact type without
    ``match_subclasses``) decides."""

    def __init__(self, exception: Any, action: RetryAction = RetryAction.RETRY, retry_delay: timedelta | None = None,
                 reason: str | None = None, match_subclasses: bool = True) -> None:
        specs = exception if isinstance(exception, list) else [exception]
        for spec in specs:
            if isinstance(spec, str):
                if "." not in spec:
                    raise InvalidInput(f"RetryRule exception must be a dotted import path (e.g. "
                                       f"'builtins.ValueError'), got {spec!r}")
            elif not (isinstance(spec, type) and issubclass(spec, BaseException)):
                raise InvalidInput(f"RetryRule exception must be an exception class or its import path, got {spec!r}")
        if not isinstance(action, RetryAction):
            raise InvalidInput(f"RetryRule action must be a RetryAction, got {action!r}")
        if retry_delay is not None and (not isinstance(retry_delay, timedelta) or retry_delay < timedelta(0)):
            raise InvalidInput(f"RetryRule retry_delay must be a non-negative timedelta, got {retry_delay!r}")
        self.specs = specs
        self.action = action
        self.retry_delay = retry_delay
        self.reason = reason
        self.match_subclasses = match_subclasses

    def matches(self, exc: BaseException) -> bool:
        classes = [s if isinstance(s, type) else _import_class(s) for s in self.specs]
        known = tuple(c for c in classes if c is not None)
        if not known:
            return False
        return isinstance(exc, known) if self.match_subclasses else type(exc) in known


class ExceptionRetryPolicy(RetryPolicy):
    """Rules in order, the first match wins; ``default`` when none matches."""

    def __init__(self, rules: list[RetryRule], default: RetryAction = RetryAction.DEFAULT) -> None:
        if not all(isinstance(r, RetryRule) for r in rules):
            raise InvalidInput("ExceptionRetryPolicy rules must be RetryRules")
        self.rules = list(rules)
        self.default = default

    def evaluate(self, exception: BaseException, try_number: int, max_tries: int,
                 context: dict[str, Any] | None = None) -> RetryDecision:
        for rule in self.rules:
            if rule.matches(exception):
                return RetryDecision(rule.action, rule.retry_delay,
                                     rule.reason or f"Matched rule for {type(exception).__name__}")
        return RetryDecision(self.default)
