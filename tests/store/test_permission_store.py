"""The permission store (users' numbers, groups, grants) on SQLite and PostgreSQL: one
contract, what auth/permissions.py decides from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trackflow.auth.permissions import Level, Permissions
from trackflow.entities.auth import Grant
from trackflow.errors import AlreadyExists, NotFound
from trackflow.store.sql.auth_store import SqlAuthStore
from trackflow.store.sql.database import Database


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlAuthStore]:
    uri = f"sqlite:///{tmp_path / 'auth.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    made = SqlAuthStore(db)
    with db.write() as conn:  # a PostgreSQL database is shared by the session: start empty
        for table in ("auth_permissions", "auth_group_members", "auth_groups", "auth_tokens", "auth_users"):
            conn.exec_driver_sql(f"DELETE FROM {table}")
    yield made
    db.dispose()


def test_grants_to_users_and_groups(store: SqlAuthStore) -> None:
    now = datetime.now(UTC)
    ids = [store.create_user(name, "hash", False, now).id for name in ("ann", "ben", "cat")]
    assert ids[1:] == [ids[0] + 1, ids[0] + 2]  # numbered in the order they were made
    p = Permissions(store, Level.NO_PERMISSIONS)
    ann, ben, cat = (store.get_user(n) for n in ("ann", "ben", "cat"))

    store.create_group("team", now)
    with pytest.raises(AlreadyExists):
        store.create_group("team", now)
    store.add_member("team", "ben")
    store.add_member("team", "ben")  # twice: no change
    store.add_member("team", "cat")
    with pytest.raises(NotFound):
        store.add_member("team", "nobody")
    assert [(g.name, g.members) for g in store.list_groups()] == [("team", ("ben", "cat"))]
    assert [g.name for g in store.list_groups(member="ann")] == []

    p.grant("user", "ann", "experiment", "1", Level.MANAGE)
    p.grant("group", "team", "experiment", "1", Level.READ)
    p.grant("user", "cat", "experiment", "1", Level.EDIT)
    assert [p.level(u, "experiment", "1") for u in (ann, ben, cat)] == [Level.MANAGE, Level.READ, Level.EDIT]
    assert p.level(ann, "experiment", "2") == Level.NO_PERMISSIONS
    assert p.readable(ben, "experiment", ["1", "2"]) == {"1"}
    with pytest.raises(AlreadyExists):
        p.grant("user", "ann", "experiment", "1", Level.READ, must_exist=False)
    with pytest.raises(NotFound):
        p.grant("user", "ann", "experiment", "9", Level.READ, must_exist=True)
    with pytest.raises(NotFound):
        p.grant("group", "nobody", "experiment", "1", Level.READ)

    p.grant("user", "ann", "registered_model", "m", Level.EDIT)
    store.rename_resource("registered_model", "m", "m2")
    assert store.list_permissions("registered_model") == [Grant("user", "ann", "registered_model", "m2", "EDIT")]
    store.forget_resource("registered_model", "m2")
    assert store.list_permissions("registered_model") == []

    store.remove_member("team", "ben")
    assert p.level(ben, "experiment", "1") == Level.NO_PERMISSIONS
    with pytest.raises(NotFound):
        store.remove_member("team", "ben")
    store.delete_group("team")  # its grants go with it
    assert [g.principal for g in store.list_permissions("experiment", "1")] == ["ann", "cat"]
    store.delete_user("cat")
    assert [g.principal for g in store.list_permissions(principal_kind="user")] == ["ann"]
    store.delete_permission("user", "ann", "experiment", "1")
    with pytest.raises(NotFound):
        store.delete_permission("user", "ann", "experiment", "1")
    store.set_admin("ben", True)
    assert p.level(store.get_user("ben"), "dag", "anything") == Level.MANAGE
