"""List commands never cut ids (narrow terminals, pipes) and speak JSON for scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import trackflow


def _cli(home: Path, *args: str, columns: str = "40") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env.update({"TRACKFLOW_HOME": str(home), "COLUMNS": columns})
    result = subprocess.run([sys.executable, "-m", "trackflow", *args], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _two_runs(home: Path) -> list[str]:
    trackflow.set_tracking_uri(f"sqlite:///{home / 'trackflow.db'}")
    try:
        trackflow.set_experiment("an-experiment-with-a-rather-long-name-for-a-narrow-pipe")
        ids = []
        for i in range(2):
            with trackflow.start_run(run_name=f"r{i}") as run:
                trackflow.log_metric("acc", 0.5 + i / 10)
                ids.append(run.info.run_id)
        return ids
    finally:
        trackflow.set_tracking_uri(None)


def test_piped_tables_keep_whole_ids_in_40_columns(tmp_path: Path) -> None:
    run_ids = _two_runs(tmp_path)
    out = _cli(tmp_path, "runs", "list", "--experiment-name", "an-experiment-with-a-rather-long-name-for-a-narrow-pipe")
    for run_id in run_ids:
        assert run_id in out
    assert "an-experiment-with-a-rather-long-name-for-a-narrow-pipe" in _cli(tmp_path, "experiments", "list")


def test_list_commands_take_output_json(tmp_path: Path) -> None:
    run_ids = _two_runs(tmp_path)
    runs = json.loads(
        _cli(tmp_path, "runs", "list", "--experiment-name", "an-experiment-with-a-rather-long-name-for-a-narrow-pipe",
             "--output", "json")
    )
    assert sorted(r["run_id"] for r in runs) == sorted(run_ids)
    assert sorted(r["metrics.acc"] for r in runs) == [0.5, 0.6]
    experiments = json.loads(_cli(tmp_path, "experiments", "list", "--output", "json"))
    assert {e["name"] for e in experiments} >= {"Default", "an-experiment-with-a-rather-long-name-for-a-narrow-pipe"}
