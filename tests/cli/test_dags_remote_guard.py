"""Pipeline management commands refuse a server URL instead of acting on a local database."""

from __future__ import annotations

import pytest

from trackflow.cli.main import main


@pytest.mark.parametrize(
    "args",
    [["dags", "trigger", "etl"], ["dags", "pause", "etl"], ["dags", "runs", "etl"], ["dags", "list"]],
)
def test_server_url_is_a_one_line_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--tracking-uri", "http://127.0.0.1:9", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "database URI" in err[0]
