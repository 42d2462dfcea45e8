"""The README documents every setting and CLI command; the public surface is pinned."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click

import trackflow
from trackflow.cli.main import COMMANDS, cli
from trackflow.config import ENV_VARS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name, var in ENV_VARS.items():
        assert f"`{var}`" in README, f"setting {name} ({var}) is not in the README"


def test_every_cli_command_and_subcommand_is_documented() -> None:
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        subcommands = list(command.commands) if isinstance(command, click.Group) else []
        assert f"trackflow {name}" in README, f"`trackflow {name}` is not in the README"
        lines = [line for line in README.splitlines() if f"trackflow {name}" in line]
        for sub in subcommands:
            assert any(re.search(rf"\b{re.escape(sub)}\b", line) for line in lines), (
                f"`trackflow {name} {sub}` is not in the README"
            )


def test_public_names() -> None:
    assert set(trackflow.__all__) >= {
        "set_tracking_uri",
        "set_experiment",
        "start_run",
        "log_param",
        "log_params",
        "log_metric",
        "log_metrics",
        "set_tag",
        "set_tags",
        "log_artifact",
        "log_dict",
        "log_text",
        "search_runs",
        "Client",
        "dag",
        "task",
        "DAG",
        "TaskGroup",
        "Param",
        "chain",
        "get_current_context",
        "TriggerRule",
        "sklearn",
        "pyfunc",
        "pytorch",
        "operators",
    }
    for name in trackflow.__all__:
        assert getattr(trackflow, name) is not None


def test_import_is_lazy() -> None:
    """`import trackflow` must not drag in the heavy libraries (it has a 150 ms budget)."""
    heavy = "('sqlalchemy', 'pandas', 'fastapi', 'numpy')"
    code = f"import sys, trackflow; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
