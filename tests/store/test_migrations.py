"""Migrations: the fast "already current" check agrees with Alembic, and upgrades are idempotent."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from trackflow.store.migrations import HEADS, MIGRATIONS_DIR, alembic_config
from trackflow.store.sql.database import Database


def test_declared_heads_match_alembic(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    script = ScriptDirectory.from_config(alembic_config(db.engine))
    assert set(script.get_heads()) == HEADS
    assert MIGRATIONS_DIR.is_dir()


def test_upgrade_is_idempotent_and_detects_current_schema(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    assert not db.is_current()
    db.upgrade()
    assert db.is_current()
    db.upgrade()  # a second run changes nothing
    with db.read() as conn:
        assert {r[0] for r in conn.exec_driver_sql("SELECT version_num FROM alembic_version")} == HEADS
        assert conn.exec_driver_sql("SELECT name FROM experiments WHERE experiment_id = 0").scalar() == "Default"


def test_upgrade_on_postgres(postgres_uri: str) -> None:
    db = Database(postgres_uri)
    db.upgrade()
    db.upgrade()
    assert db.is_current()
    db.dispose()
