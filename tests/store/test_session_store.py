"""The session store (browser sessions, failed sign-ins) on SQLite and PostgreSQL: one contract,
what server/sessions.py relies on to revoke sessions and share the login limit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trackflow.entities.auth import UserSession
from trackflow.errors import NotFound
from trackflow.store.sql.auth_store import SqlAuthStore
from trackflow.store.sql.database import Database
from trackflow.store.sql.session_store import SqlSessionStore

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[SqlAuthStore, SqlSessionStore]]:
    uri = f"sqlite:///{tmp_path / 'auth.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    with db.write() as conn:  # a PostgreSQL database is shared by the session: start empty
        for table in ("auth_sessions", "auth_login_failures", "auth_permissions", "auth_group_members",
                      "auth_groups", "auth_tokens", "auth_users"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    yield SqlAuthStore(db), SqlSessionStore(db)
    db.dispose()


def session(session_id: str, username: str, at: datetime) -> UserSession:
    return UserSession(session_id, username, at, at, "10.0.0.1", "agent/1.0", "password", "csrf-" + session_id)


def test_sessions_are_kept_listed_and_revoked(stores: tuple[SqlAuthStore, SqlSessionStore]) -> None:
    auth, store = stores
    auth.create_user("ann", "hash", True, T0)
    auth.create_user("ben", "hash", False, T0)
    store.create_session(session("s1", "ann", T0), expired_before=T0 - timedelta(hours=12))
    store.create_session(session("s2", "ann", T0 + timedelta(minutes=1)), expired_before=T0 - timedelta(hours=12))
    store.create_session(session("s3", "ben", T0 + timedelta(minutes=2)), expired_before=T0 - timedelta(hours=12))
    with pytest.raises(NotFound, match="user 'nobody' does not exist"):
        store.create_session(session("s4", "nobody", T0), expired_before=T0)
    found = store.session_user("s1")
    assert found is not None
    kept, user = found
    assert kept == session("s1", "ann", T0) and (user.username, user.is_admin) == ("ann", True)
    assert store.session_user("nope") is None
    assert [s.id for s in store.list_sessions()] == ["s3", "s2", "s1"]  # newest first
    assert [s.id for s in store.list_sessions("ann")] == ["s2", "s1"]
    assert [s.id for s in store.list_sessions(created_after=T0 + timedelta(seconds=30))] == ["s3", "s2"]
    store.touch("s1", T0 + timedelta(hours=1))
    assert store.list_sessions("ann")[-1].last_seen_at == T0 + timedelta(hours=1)
    assert store.revoke_session("s2").id == "s2"
    assert store.session_user("s2") is None
    with pytest.raises(NotFound, match="session 's2' does not exist"):
        store.revoke_session("s2")
    # a new session drops the expired ones on the way
    store.create_session(session("s5", "ben", T0 + timedelta(hours=13)), expired_before=T0 + timedelta(hours=1))
    assert [s.id for s in store.list_sessions()] == ["s5"]
    # a password change or a deleted user ends the user's sessions
    store.create_session(session("s6", "ann", T0 + timedelta(hours=13)), expired_before=T0)
    auth.set_password_hash("ann", "new-hash")
    assert [s.id for s in store.list_sessions()] == ["s5"]
    auth.delete_user("ben")
    assert store.list_sessions() == []


def test_failures_are_counted_in_a_window_and_cleared(stores: tuple[SqlAuthStore, SqlSessionStore]) -> None:
    _, store = stores
    window = timedelta(minutes=5)
    for minute in range(4):
        store.record_failure(["user:ann", "addr:10.0.0.1"], T0 + timedelta(minutes=minute), window)
    newest = T0 + timedelta(minutes=3)
    assert store.failures_since("user:ann", T0, 10) == [newest - timedelta(minutes=m) for m in range(4)]
    assert len(store.failures_since("user:ann", T0, 2)) == 2  # at most the limit asked for
    assert store.failures_since("user:ann", T0 + timedelta(minutes=2), 10) == [newest, newest - timedelta(minutes=1)]
    store.clear_failures("user:ann")
    assert store.failures_since("user:ann", T0, 10) == []
    assert len(store.failures_since("addr:10.0.0.1", T0, 10)) == 4  # the address keeps its count
    # a failure long after drops those older than the window
    store.record_failure(["addr:10.0.0.1"], T0 + timedelta(hours=1), window)
    assert store.failures_since("addr:10.0.0.1", T0, 10) == [T0 + timedelta(hours=1)]
