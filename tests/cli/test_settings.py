"""Settings precedence: defaults < config file < environment variables < CLI flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackflow.cli.main import main
from trackflow.config import ENV_VARS, Settings, load_settings
from trackflow.errors import InvalidInput


def write_config(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def test_defaults_derive_from_home(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRACKFLOW_HOME": str(tmp_path)})
    assert settings.home_path == tmp_path
    assert settings.resolved_tracking_uri == f"sqlite:///{tmp_path / 'trackflow.db'}"
    assert settings.resolved_artifacts_destination == str(tmp_path / "artifacts")
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert load_settings(environ={}).home_path == Path.home() / ".trackflow"


def test_config_file_then_env_then_flag(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_config(
        home / "config.toml",
        '[trackflow]\nport = 6000\nhost = "0.0.0.0"\ntracking_uri = "sqlite:///file.db"\n'
        'artifacts_destination = "/from/file"\nparallelism = 3\n',
    )
    from_file = load_settings(environ={"TRACKFLOW_HOME": str(home)})
    assert (from_file.port, from_file.host, from_file.tracking_uri) == (6000, "0.0.0.0", "sqlite:///file.db")
    assert from_file.artifacts_destination == "/from/file" and from_file.parallelism == 3

    env = {"TRACKFLOW_HOME": str(home), "TRACKFLOW_PORT": "7000", "TRACKFLOW_TRACKING_URI": "sqlite:///env.db"}
    from_env = load_settings(environ=env)
    assert (from_env.port, from_env.tracking_uri) == (7000, "sqlite:///env.db")
    assert from_env.host == "0.0.0.0" and from_env.artifacts_destination == "/from/file"  # not overridden

    from_flag = load_settings(environ=env, port=8000, tracking_uri="sqlite:///flag.db", host=None)
    assert (from_flag.port, from_flag.tracking_uri) == (8000, "sqlite:///flag.db")
    assert from_flag.host == "0.0.0.0"  # a None flag is "not given"


def test_config_file_without_section_and_trackflow_config(tmp_path: Path) -> None:
    config = write_config(tmp_path / "elsewhere.toml", 'dags_folder = "/dags"\n')
    settings = load_settings(environ={"TRACKFLOW_HOME": str(tmp_path / "h"), "TRACKFLOW_CONFIG": str(config)})
    assert settings.resolved_dags_folder == "/dags"


def test_home_flag_selects_the_config_file(tmp_path: Path) -> None:
    write_config(tmp_path / "env-home" / "config.toml", "port = 1111\n")
    write_config(tmp_path / "flag-home" / "config.toml", "port = 2222\n")
    settings = load_settings(environ={"TRACKFLOW_HOME": str(tmp_path / "env-home")}, home=str(tmp_path / "flag-home"))
    assert settings.port == 2222 and settings.home_path == tmp_path / "flag-home"


@pytest.mark.parametrize(
    ("config", "env", "fragment"),
    [
        ("port = 'many'\n", {}, "port"),
        ("colour = 'blue'\n", {}, "colour"),
        ("port = [\n", {}, "TOML"),
        ("", {"TRACKFLOW_PORT": "abc"}, "TRACKFLOW_PORT"),
        ("", {"TRACKFLOW_PORT": "70000"}, "70000"),
        ("", {"TRACKFLOW_PARALLELISM": "0"}, "parallelism"),
    ],
)
def test_invalid_settings_name_the_key(tmp_path: Path, config: str, env: dict[str, str], fragment: str) -> None:
    write_config(tmp_path / "config.toml", config)
    with pytest.raises(InvalidInput, match=fragment):
        load_settings(environ={"TRACKFLOW_HOME": str(tmp_path), **env})


def test_invalid_flag_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="port"):
        load_settings(environ={"TRACKFLOW_HOME": str(tmp_path)}, port="eighty")
    with pytest.raises(InvalidInput, match="colour"):
        Settings().with_overrides(colour="blue")


def test_every_setting_has_an_env_var() -> None:
    from dataclasses import fields

    assert set(ENV_VARS) == {f.name for f in fields(Settings)}


def test_cli_flag_beats_env_beats_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """End to end: `experiments create` writes to the database the highest-precedence source names."""
    home = tmp_path / "home"
    databases = {source: tmp_path / f"{source}.db" for source in ("file", "env", "flag")}
    write_config(home / "config.toml", f'tracking_uri = "sqlite:///{databases["file"]}"\n')
    monkeypatch.setenv("TRACKFLOW_HOME", str(home))
    monkeypatch.delenv("TRACKFLOW_CONFIG", raising=False)
    monkeypatch.delenv("TRACKFLOW_TRACKING_URI", raising=False)

    def create(*flags: str) -> None:
        try:
            main([*flags, "experiments", "create", f"e{len(list(tmp_path.glob('*.db')))}"])
        except SystemExit as exc:
            pytest.fail(f"CLI exited {exc.code}: {capsys.readouterr().err}")

    create()
    assert databases["file"].exists() and not databases["env"].exists()
    monkeypatch.setenv("TRACKFLOW_TRACKING_URI", f"sqlite:///{databases['env']}")
    create()
    assert databases["env"].exists() and not databases["flag"].exists()
    create("--tracking-uri", f"sqlite:///{databases['flag']}")
    assert databases["flag"].exists()
    monkeypatch.setenv("TRACKFLOW_PORT", "not-a-port")
    with pytest.raises(SystemExit) as exc:
        main(["experiments", "list"])
    assert exc.value.code == 2
    assert "TRACKFLOW_PORT" in capsys.readouterr().err
