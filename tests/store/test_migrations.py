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


def test_permissions_migration_numbers_the_users_there_are(tmp_path: Path) -> None:
    """0022_permissions gives existing users MLflow's user ids (1, 2, ... in the order they were
    made) and keeps their tokens; the next user made gets the next number."""
    from datetime import UTC, datetime

    from alembic import command

    from trackflow.store.sql.auth_store import SqlAuthStore

    db = Database(f"sqlite:///{tmp_path / 'm.db'}")
    command.upgrade(alembic_config(db.engine), "0021_audit")
    with db.engine.begin() as conn:
        for name, at in (("zed", 1), ("amy", 2)):
            conn.exec_driver_sql("INSERT INTO auth_users (username, password_hash, is_admin, created_at) "
                                 f"VALUES ('{name}', 'h', 0, {at})")
        conn.exec_driver_sql("INSERT INTO auth_tokens (id, username, name, token_hash, created_at) "
                             "VALUES ('t1', 'amy', 'ci', 'hash', 3)")
    db.upgrade()
    store = SqlAuthStore(db)
    assert [(u.username, u.id) for u in store.list_users()] == [("amy", 2), ("zed", 1)]
    assert [t.id for t in store.list_tokens("amy")] == ["t1"]
    assert store.create_user("bob", "h", False, datetime.now(UTC)).id == 3
    db.dispose()
