"""Airflow 3.3's retry_policy: the exception a try failed with decides whether it retries."""

import os
from datetime import datetime, timedelta
from pathlib import Path

from trackflow import (
    AirflowFailException,
    ExceptionRetryPolicy,
    RetryAction,
    RetryDecision,
    RetryPolicy,
    RetryRule,
    dag,
    task,
)

HOUR = timedelta(hours=1)  # a retry that waited this long would outlast the test: the policy's delay is used
POLICY = ExceptionRetryPolicy(rules=[
    RetryRule(exception=ValueError, action=RetryAction.FAIL, reason="bad input, not retryable"),
    RetryRule(exception=[ConnectionError, "socket.timeout"], retry_delay=timedelta(0), reason="flaky network"),
    RetryRule(exception="builtins.KeyError", action=RetryAction.FAIL, match_subclasses=False),
    RetryRule(exception="not_installed_pkg.Error", action=RetryAction.FAIL),
])


class UntilSecondTry(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        assert context is not None and context["ti"].task_id == "custom"
        return RetryDecision.retry(timedelta(0), f"try {try_number} of {max_tries}")


class Broken(RetryPolicy):
    def evaluate(self, exception, try_number, max_tries, context=None):
        raise RuntimeError("the policy itself fails")


def tries(name: str) -> int:
    marker = Path(os.environ["TF_TEST_OUT"]) / name
    count = int(marker.read_text()) + 1 if marker.exists() else 1
    marker.write_text(str(count))
    return count


@dag(schedule=None, start_date=datetime(2025, 1, 1), default_args={"retry_policy": POLICY, "retry_delay": HOUR})
def retry_policies():
    @task(retries=3)
    def fail_fast():
        raise ValueError("no such column")

    @task(retries=2)
    def network():
        raise ConnectionRefusedError("refused")  # a ConnectionError subclass

    @task(retries=2)
    def exact_type_only():
        class Missing(KeyError):
            pass

        raise Missing("k")  # not KeyError itself: no rule matches, the task's retries (delay 0 here) apply

    @task(retries=3, retry_policy=UntilSecondTry())
    def custom():
        if tries("custom") < 2:
            raise RuntimeError("first try fails")
        return "ok"

    @task(retries=2, retry_policy=ExceptionRetryPolicy([RetryRule(exception=Exception, retry_delay=timedelta(0))]))
    def fail_exception():
        raise AirflowFailException("never retried, whatever the policy")

    @task(retries=1, retry_policy=Broken(), retry_delay=timedelta(0))
    def broken_policy():
        raise RuntimeError("fails")

    exact_type_only.override(retry_delay=timedelta(0))()
    fail_fast(), network(), custom(), fail_exception(), broken_policy()


retry_policies()
