"""Differential test: the same user script with ``mlflow.sklearn.autolog()`` on the real MLflow
(against a real ``mlflow server``) and with ``trackflow.sklearn.autolog()`` (embedded SQLite,
and against a trackflow server).

Compared per scenario: the number of runs (and child runs of GridSearchCV), their status, and
the sets of param keys, metric keys, tag keys and artifact names. Differences trackflow makes
on purpose are listed, with the reason, in docs/mlflow-differences.md ("sklearn autologging"
table); this test reads that table, so an undocumented difference fails and so does a
documented one that no longer happens.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from peers import ROOT, run_peer_script

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).parent / "scripts" / "sklearn_autolog_scenarios.py"
DIFFERENCES = ROOT / "docs" / "mlflow-differences.md"
FIELDS = ("params", "metrics", "tags", "artifacts", "models", "model_files", "metric_info")


def documented_differences() -> dict[tuple[str, str], dict[str, set[str]]]:
    """{(field, key): {"mlflow": scenarios, "trackflow": scenarios}} from the table rows
    ``| field | key | only in | scenarios | why |`` of the "sklearn autologging" section."""
    text = DIFFERENCES.read_text()
    section = text.split("## sklearn autologging", 1)[1].split("\n## ", 1)[0]
    out: dict[tuple[str, str], dict[str, set[str]]] = {}
    for line in section.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or cells[0] not in FIELDS:
            continue
        field, key, only_in, scenarios, _why = cells
        assert only_in in ("mlflow", "trackflow"), line
        entry = out.setdefault((field, key), {"mlflow": set(), "trackflow": set()})
        entry[only_in] |= {s.strip() for s in re.split(r",\s*", scenarios)}
    return out


def expected_from(mlflow_run: dict[str, Any], scenario: str, differences: dict[tuple[str, str], Any]) -> dict[str, Any]:
    """What trackflow should log given what MLflow logged, after the documented differences."""
    expected = dict(mlflow_run)
    for field in FIELDS:
        keys = set(mlflow_run[field])
        for (diff_field, key), only in differences.items():
            if diff_field != field:
                continue
            if scenario in only["mlflow"] or "all" in only["mlflow"]:
                keys.discard(key)
            if (scenario in only["trackflow"] or "all" in only["trackflow"]) and _applies(key, field, mlflow_run):
                keys.add(key)
        expected[field] = sorted(keys)
    return expected


def _applies(key: str, field: str, run: dict[str, Any]) -> bool:
    """A trackflow-only entry about a model (its directory among the run's artifacts, the
    history tag, one of its files) applies only where that model was logged at all."""
    if field == "model_files" or (field == "artifacts" and key in ("model", "best_estimator")):
        return key.split("/")[0] in run["models"]
    if key == "mlflow.log-model.history":
        return bool(run["models"])
    return True


def run_trackflow_script(tmp_path: Path, uri: str) -> Any:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "trackflow", uri], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def mlflow_result(mlflow_server: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The scenarios' outcome on the real MLflow, computed once for both trackflow backends."""
    cwd = tmp_path_factory.mktemp("mlflow-autolog")
    return run_peer_script(SCRIPT, mlflow_server, "mlflow", mlflow_server, cwd=cwd)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["embedded", "server"])
def test_sklearn_autolog_logs_what_mlflow_logs(backend: str, mlflow_result: Any, tmp_path: Path, request: Any) -> None:
    uri = (
        f"sqlite:///{tmp_path / 'trackflow.db'}" if backend == "embedded" else request.getfixturevalue("running_server")
    )
    theirs = mlflow_result
    ours = run_trackflow_script(tmp_path, uri)
    differences = documented_differences()

    assert set(ours) == set(theirs)
    assert len(theirs["grid_search"]) == 1 + 5  # MLflow's max_tuning_runs=5 of 6 candidates
    assert theirs["excluded_preprocessing"] == []
    assert "accuracy_score-2_X_test" in theirs["post_training"][0]["metrics"]
    mismatches = []
    for scenario, their_runs in theirs.items():
        our_runs = ours[scenario]
        if [r["child"] for r in our_runs] != [r["child"] for r in their_runs]:
            mismatches.append(f"{scenario}: runs {len(our_runs)} vs MLflow {len(their_runs)}")
            continue
        for index, (our_run, their_run) in enumerate(zip(our_runs, their_runs, strict=True)):
            expected = expected_from(their_run, scenario, differences)
            if our_run["status"] != their_run["status"]:
                mismatches.append(f"{scenario}[{index}] status {our_run['status']} vs MLflow {their_run['status']}")
            for field in FIELDS:
                ours_only = sorted(set(our_run[field]) - set(expected[field]))
                theirs_only = sorted(set(expected[field]) - set(our_run[field]))
                if ours_only or theirs_only:
                    mismatches.append(
                        f"{scenario}[{index}] {field}: trackflow only {ours_only}, MLflow only {theirs_only}"
                    )
    assert mismatches == [], "\n".join(mismatches)


def test_documented_differences_are_well_formed() -> None:
    differences = documented_differences()
    assert differences, "docs/mlflow-differences.md has no sklearn autologging table rows"
    scenarios = set(re.findall(r'^    "(\w+)": ', SCRIPT.read_text(), flags=re.M)) | {"all"}
    for (field, key), only in differences.items():
        unknown = (only["mlflow"] | only["trackflow"]) - scenarios
        assert not unknown, f"{field} {key}: unknown scenarios {unknown}"
