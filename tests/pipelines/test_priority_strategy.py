"""weight_rule (Airflow's priority weight strategies): the built-in rules, a custom
PriorityWeightStrategy as an object, a class or an import path, and the scheduler queueing the
heaviest ready task instance first (tests/dags/weighted.py)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from pipeline_helpers import CLI, DAGS

from trackflow import DAG, PriorityWeightStrategy, WeightRule
from trackflow.errors import InvalidInput
from trackflow.operators import EmptyOperator
from trackflow.pipelines.authoring.serialize import serialize_dag


class Retrying(PriorityWeightStrategy):
    """Airflow's example: the weight falls with each try."""

    def get_weight(self, ti: Any) -> int:
        return max(3 - ti.try_number + 1, 1)


def weights(dag: DAG) -> dict[str, int]:
    return {t.task_id: t.priority_weight for t in serialize_dag(dag).tasks}


def test_built_in_rules_and_a_strategy_object() -> None:
    with DAG("w", start_date=datetime(2025, 1, 1)) as dag:
        first = EmptyOperator(task_id="first", priority_weight=2)
        middle = EmptyOperator(task_id="middle", priority_weight=3, weight_rule="upstream")
        last = EmptyOperator(task_id="last", priority_weight=5, weight_rule=WeightRule.ABSOLUTE)
        custom = EmptyOperator(task_id="custom", weight_rule=Retrying())
        first >> middle >> last
        first >> custom
    # downstream: own + every task after it; upstream: own + every task before it; absolute: own
    assert weights(dag) == {"first": 2 + 3 + 5 + 1, "middle": 3 + 2, "last": 5, "custom": 4}
    assert custom.weight_rule == Retrying()  # strategies carry no parameters: one equals another


def test_a_strategy_by_class_or_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(DAGS))
    with DAG("paths", start_date=datetime(2025, 1, 1)) as dag:
        EmptyOperator(task_id="a", weight_rule="weights_helper.ByLastLetter")
        EmptyOperator(task_id="c", weight_rule=Retrying)
    assert weights(dag) == {"a": 1, "c": 4}


@pytest.mark.parametrize("rule, message", [
    ("sideways", "invalid weight_rule 'sideways' of task 't'"),
    ("no_such_module.Strategy", "nor the import path of a PriorityWeightStrategy subclass"),
    ("datetime.datetime", "nor the import path of a PriorityWeightStrategy subclass"),
    (42, "invalid weight_rule 42 of task 't'"),
])
def test_a_bad_weight_rule_is_refused_naming_it(rule: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace(".", r"\.").replace("(", r"\(")):
        EmptyOperator(task_id="t", weight_rule=rule)


def test_a_strategy_must_return_an_int() -> None:
    class Vague(PriorityWeightStrategy):
        def get_weight(self, ti: Any) -> int:
            return "high"  # type: ignore[return-value]

    with DAG("vague", start_date=datetime(2025, 1, 1)) as dag:
        EmptyOperator(task_id="t", weight_rule=Vague())
    with pytest.raises(InvalidInput, match="weight_rule Vague of task 't' returned 'high'"):
        serialize_dag(dag)


def test_the_heaviest_ready_task_goes_first(cli: CLI, home: Path, tmp_path: Path) -> None:
    for name in ("weighted.py", "weights_helper.py"):
        shutil.copy(DAGS / name, tmp_path / name)
    proc = cli("dags", "test", "weighted", "--dags-folder", str(tmp_path / "weighted.py"), timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with sqlite3.connect(home / "trackflow.db") as db:
        rows = db.execute("SELECT task_id, priority_weight FROM pl_task_instances WHERE dag_id = 'weighted' "
                          "ORDER BY start_date").fetchall()
    assert rows == [("c", 3), ("b", 2), ("a", 1)]  # max_active_tasks=1: one at a time, by weight
