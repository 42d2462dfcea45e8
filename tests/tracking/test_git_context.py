"""A run started from a script inside a git repository records the commit, branch and remote
(credentials stripped), as MLflow's git context does; outside a repository, nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trackflow.config import Settings
from trackflow.tracking.client import Client

SCRIPT = """
import trackflow
with trackflow.start_run() as run:
    pass
print(run.info.run_id)
"""


def _git(repo: Path, *args: str) -> str:
    command = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def _run_script(script: Path, db: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env.update({"TRACKFLOW_HOME": str(home), "TRACKFLOW_TRACKING_URI": db})
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip().splitlines()[-1]
    return Client(db, settings=Settings(home=str(home))).get_run(run_id).data.tags


def test_git_commit_branch_and_remote_without_credentials(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "feature/x")
    (repo / "train.py").write_text(SCRIPT)
    _git(repo, "add", "train.py")
    _git(repo, "commit", "-q", "-m", "first")
    _git(repo, "remote", "add", "origin", "https://someone:s3cret@git.example.com/team/repo.git")
    tags = _run_script(repo / "train.py", f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "home")
    assert tags["mlflow.source.git.commit"] == _git(repo, "rev-parse", "HEAD")
    assert tags["mlflow.source.git.branch"] == "feature/x"
    assert tags["mlflow.source.git.repoURL"] == "https://git.example.com/team/repo.git"
    assert tags["mlflow.source.name"] == "train.py"


def test_no_git_tags_outside_a_repository(tmp_path: Path) -> None:
    script = tmp_path / "plain" / "train.py"
    script.parent.mkdir()
    script.write_text(SCRIPT)
    tags = _run_script(script, f"sqlite:///{tmp_path / 'x.db'}", tmp_path / "home")
    assert not [k for k in tags if k.startswith("mlflow.source.git")]
