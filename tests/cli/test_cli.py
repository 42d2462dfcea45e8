"""The `trackflow` CLI: experiments, runs, db upgrade, gc, and one-line errors with exit code 2.

Most commands run in-process through ``trackflow.cli.main.main`` (the console script's entry
point, which maps errors to one line and exit 2); a few run as real ``python -m trackflow``
subprocesses to prove the packaging and the exit code seen by a shell.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from trackflow.cli.main import main
from trackflow.config import Settings
from trackflow.tracking.client import Client


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty TRACKFLOW_HOME for the CLI, and a wide terminal so tables are not truncated."""
    home = tmp_path / "home"
    for var in ("TRACKFLOW_TRACKING_URI", "TRACKFLOW_ARTIFACTS_DESTINATION", "TRACKFLOW_CONFIG", "TRACKFLOW_PORT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TRACKFLOW_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "250")
    return home


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``trackflow ARGS`` run in this process."""
    capsys.readouterr()
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], err


def client_for(home: Path) -> Client:
    return Client(settings=Settings(home=str(home)))


def test_experiments_create_and_list(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cli-{uuid.uuid4().hex[:8]}"
    code, out, err = run_cli(capsys, "experiments", "create", name, "--tag", "team=ml", "--tag", "x=1=2")
    assert code == 0, err
    experiment_id = out.strip()
    experiment = client_for(home).get_experiment(experiment_id)
    assert experiment.name == name and experiment.tags == {"team": "ml", "x": "1=2"}

    code, out, err = run_cli(capsys, "experiments", "list")
    assert code == 0, err
    assert name in out and "Default" in out
    code, out, _ = run_cli(capsys, "experiments", "list", "--filter", f"name = '{name}'")
    assert name in out and "Default" not in out

    client_for(home).delete_experiment(experiment_id)
    assert name not in run_cli(capsys, "experiments", "list")[1]
    assert name in run_cli(capsys, "experiments", "list", "--view", "deleted_only")[1]


def test_runs_list_and_describe(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = client_for(home)
    name = f"cli-runs-{uuid.uuid4().hex[:8]}"
    experiment_id = client.create_experiment(name)
    runs = []
    for index in range(3):
        run_id = client.create_run(experiment_id, run_name=f"run-{index}").info.run_id
        client.log_metric(run_id, "acc", index / 10)
        client.log_param(run_id, "idx", index)
        runs.append(run_id)

    code, out, err = run_cli(capsys, "runs", "list", "--experiment-name", name)
    assert code == 0, err
    assert all(run_id in out for run_id in runs) and "metrics.acc" in out
    code, out, err = run_cli(
        capsys,
        "runs",
        "list",
        "--experiment-id",
        experiment_id,
        "--filter",
        "metrics.acc > 0.05",
        "--order-by",
        "metrics.acc DESC",
    )
    assert code == 0, err
    assert runs[0] not in out and out.index(runs[2]) < out.index(runs[1])

    code, out, err = run_cli(capsys, "runs", "describe", runs[1])
    assert code == 0, err
    assert "run-1" in out and "idx" in out and "acc" in out
    code, out, err = run_cli(capsys, "runs", "describe", runs[1], "--json")
    assert code == 0, err
    described = json.loads(out)
    assert described["info"]["run_id"] == runs[1] and described["data"]["params"] == {"idx": "1"}


def test_db_upgrade_is_idempotent(tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    for _ in range(2):
        code, out, err = run_cli(capsys, "db", "upgrade", "--backend-store-uri", uri)
        assert code == 0, err
        assert "up to date" in out
    client = Client(uri, settings=Settings(home=str(home)))
    assert client.get_experiment("0").name == "Default"
    code, out, err = run_cli(capsys, "db", "upgrade")  # the configured database under TRACKFLOW_HOME
    assert code == 0 and str(home) in out, err


def test_db_upgrade_on_postgres(postgres_uri: str, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for _ in range(2):
        code, out, err = run_cli(capsys, "db", "upgrade", "--backend-store-uri", postgres_uri)
        assert code == 0, err


def test_gc_older_than(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = client_for(home)
    experiment_id = client.create_experiment(f"cli-gc-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id).info.run_id
    client.log_text(run_id, "x", "f.txt")
    client.delete_run(run_id)
    artifacts = home / "artifacts" / experiment_id / run_id
    assert artifacts.is_dir()

    code, out, err = run_cli(capsys, "gc", "--older-than", "1d")
    assert code == 0, err
    assert "purged 0 runs" in out
    assert client.get_run(run_id)
    code, out, err = run_cli(capsys, "gc", "--dry-run")
    assert code == 0 and "would purge 1 runs" in out, err
    code, out, err = run_cli(capsys, "gc", "--older-than", "0s")
    assert code == 0, err
    assert "purged 1 runs" in out
    assert not (artifacts / "artifacts").exists()
    assert not [p for p in artifacts.parent.rglob("*") if p.is_file()]
    assert client.search_runs([experiment_id], run_view_type="ALL").items == []


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["gc", "--older-than", "soon"], ["soon"]),
        (["gc", "--older-than", "30x"], ["30x"]),
        (["experiments", "create", ""], ["experiment name"]),
        (["experiments", "create", "ok", "--tag", "novalue"], ["novalue"]),
        (["runs", "describe", "0123456789abcdef0123456789abcdef"], ["0123456789abcdef0123456789abcdef"]),
        (["runs", "describe", "not a run id"], ["not a run id"]),
        (["runs", "list", "--filter", "metrics.acc >>> 1"], [">>>"]),
        (["runs", "list", "--order-by", "metrics.acc SIDEWAYS"], ["SIDEWAYS"]),
        (["runs", "list", "--experiment-name", "no-such-experiment"], ["no-such-experiment"]),
        (["runs", "list", "--max-results", "0"], ["max-results"]),
        (["experiments", "list", "--view", "SOMETIMES"], ["SOMETIMES"]),
        (["--tracking-uri", "ftp://example.com", "experiments", "list"], ["ftp://example.com"]),
        (["db", "upgrade", "--backend-store-uri", "mysql://x/y"], ["mysql"]),
        (["no-such-command"], ["no-such-command"]),
    ],
)
def test_bad_input_is_one_line_with_exit_code_2(
    home: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragments: list[str]
) -> None:
    code, out, err = run_cli(capsys, *args)
    assert_one_line_error(code, err, *fragments)


def test_duplicate_experiment_via_cli(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cli-dup-{uuid.uuid4().hex[:8]}"
    assert run_cli(capsys, "experiments", "create", name)[0] == 0
    code, _, err = run_cli(capsys, "experiments", "create", name)
    assert_one_line_error(code, err, name, "already exists")


def _subprocess_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKFLOW_")}
    env.update(TRACKFLOW_HOME=str(home), COLUMNS="250")
    return env


def test_real_subprocess_success_and_error(home: Path) -> None:
    name = f"cli-proc-{uuid.uuid4().hex[:8]}"
    env = _subprocess_env(home)
    created = subprocess.run(
        [sys.executable, "-m", "trackflow", "experiments", "create", name], env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    assert client_for(home).get_experiment(created.stdout.strip()).name == name

    failed = subprocess.run(
        [sys.executable, "-m", "trackflow", "runs", "list", "--filter", "params.x = 'unterminated"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert_one_line_error(failed.returncode, failed.stderr, "Unterminated")
    assert failed.stdout == ""


def test_cli_against_a_server(running_server: str, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cli-remote-{uuid.uuid4().hex[:8]}"
    code, out, err = run_cli(capsys, "--tracking-uri", running_server, "experiments", "create", name)
    assert code == 0, err
    assert Client(running_server).get_experiment(out.strip()).name == name
    code, out, err = run_cli(capsys, "--tracking-uri", running_server, "runs", "describe", uuid.uuid4().hex)
    assert_one_line_error(code, err, "no run")
