"""Fixtures of the MLflow REST differential tests: one scenario runner per server (the real
MLflow, the oracle, and trackflow), and the deliberate differences docs/mlflow-differences.md
lists, which the tests read so that an undocumented difference fails."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from scenarios import Difference, Runner, Scenario, compare, documented_differences

from peers import ROOT

DIFFERENCES_DOC = ROOT / "docs" / "mlflow-differences.md"
REST_SECTION = "MLflow REST API"


@pytest.fixture(scope="session")
def rest_differences() -> dict[tuple[str, str], Difference]:
    return documented_differences(DIFFERENCES_DOC.read_text(), REST_SECTION)


@pytest.fixture(scope="session")
def run_both(
    mlflow_server: str, running_server: str, rest_differences: dict[tuple[str, str], Difference]
) -> Callable[[Scenario], None]:
    """Runs a scenario on MLflow, then on trackflow, and fails on a difference the doc does not list."""
    mlflow, trackflow = Runner(mlflow_server), Runner(running_server)

    def check(scenario: Scenario) -> None:
        expected, actual = mlflow.run(scenario), trackflow.run(scenario)
        problems = compare(scenario.name, expected, actual, rest_differences)
        assert not problems, f"scenario {scenario.name}:\n" + "\n".join(problems)

    return check
