"""docs/mlflow-differences.md's "MLflow REST API" table names only calls the differential tests
make, so a row cannot outlive the scenario it excuses."""

from __future__ import annotations

import test_rest_artifacts
import test_rest_client
import test_rest_experiments
import test_rest_registry
import test_rest_runs
from scenarios import Difference


def test_every_documented_difference_names_a_call(rest_differences: dict[tuple[str, str], Difference]) -> None:
    calls = {
        (s.name, c.label)
        for module in (test_rest_experiments, test_rest_runs, test_rest_artifacts, test_rest_registry)
        for s in module.SCENARIOS
        for c in s.calls
    }
    client_steps = {"tracking_steps", "registry_steps"}
    assert {f.__name__ for f in (test_rest_client.tracking_steps, test_rest_client.registry_steps)} == client_steps
    unknown = [
        key
        for key in rest_differences
        if key not in calls and not (key[0].startswith("client:") and key[0].removeprefix("client:") in client_steps)
    ]
    assert not unknown, f"rows naming no scenario call: {unknown}"
    assert len(rest_differences) >= 30  # the table was read, not silently empty
