"""Airflow 3.3's retry_policy, evaluated in the task process on the exception it failed with:
FAIL ends the task whatever retries are left, RETRY retries after the rule's own delay (never
beyond retries), DEFAULT and no match fall back to retries/retry_delay; AirflowFailException
never asks the policy, and a policy that raises is ignored."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from pipeline_helpers import CLI, DAGS

from trackflow import ExceptionRetryPolicy, RetryAction, RetryRule
from trackflow.errors import InvalidInput
from trackflow.operators import EmptyOperator


def rows(home: Path, dag_id: str) -> dict[str, tuple[str, int, str | None]]:
    with sqlite3.connect(home / "trackflow.db") as conn:
        found = conn.execute("SELECT task_id, state, try_number, note FROM pl_task_instances WHERE dag_id = ?",
                             (dag_id,)).fetchall()
    return {t: (s, n, note) for t, s, n, note in found}


def test_the_policy_decides_from_the_exception(cli: CLI, home: Path, tmp_path: Path) -> None:
    shutil.copy(DAGS / "retry_policies.py", tmp_path / "retry_policies.py")
    proc = cli("dags", "test", "retry_policies", "--dags-folder", str(tmp_path / "retry_policies.py"), timeout=90)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    found = rows(home, "retry_policies")
    assert {t: (s, n) for t, (s, n, _) in found.items()} == {
        "fail_fast": ("failed", 1),  # FAIL: three retries left, none used
        "network": ("failed", 3),  # RETRY with the rule's delay of 0, not the DAG's hour, up to retries
        "exact_type_only": ("failed", 3),  # match_subclasses=False: the subclass falls to the defaults
        "custom": ("success", 2),
        "fail_exception": ("failed", 1),
        "broken_policy": ("failed", 2),  # the policy raised: retries and retry_delay as without one
    }
    assert "retry policy: fail, bad input, not retryable" in (found["fail_fast"][2] or "")
    [log] = (home / "logs").glob("dag_id=retry_policies/*/task_id=broken_policy/attempt=1.log")
    assert "Retry policy evaluation failed" in log.read_text()


def test_rules_are_validated() -> None:
    with pytest.raises(InvalidInput, match="dotted import path"):
        RetryRule(exception="ValueError")
    with pytest.raises(InvalidInput, match="exception class"):
        RetryRule(exception=42)
    with pytest.raises(InvalidInput, match="non-negative timedelta"):
        RetryRule(exception=ValueError, retry_delay=timedelta(seconds=-1))
    with pytest.raises(InvalidInput, match="RetryAction"):
        RetryRule(exception=ValueError, action="retry")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="must be a RetryPolicy"):
        EmptyOperator(task_id="t", retry_policy={"rules": []})


def test_first_matching_rule_wins_and_unknown_paths_never_match() -> None:
    policy = ExceptionRetryPolicy([RetryRule(exception="not_installed_pkg.Error", action=RetryAction.FAIL),
                                   RetryRule(exception=OSError, retry_delay=timedelta(seconds=3)),
                                   RetryRule(exception=ConnectionError, action=RetryAction.FAIL)],
                                  default=RetryAction.FAIL)
    decision = policy.evaluate(ConnectionResetError(), 1, 3)
    assert (decision.action, decision.retry_delay, decision.reason) == (
        RetryAction.RETRY, timedelta(seconds=3), "Matched rule for ConnectionResetError")
    assert policy.evaluate(ValueError(), 1, 3).action is RetryAction.FAIL  # the policy's default
