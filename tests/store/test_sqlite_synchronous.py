"""``sqlite:///path.db?synchronous=full``: trackflow's one SQLite URI option (durability)."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackflow.errors import InvalidInput
from trackflow.store.sql import Database

PRAGMA_VALUES = {"off": 0, "normal": 1, "full": 2, "extra": 3}


@pytest.mark.parametrize("option", ["", "?synchronous=full", "?synchronous=OFF", "?synchronous=extra"])
def test_synchronous_option_sets_the_pragma_on_every_connection(tmp_path: Path, option: str) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}{option}")
    db.upgrade()
    expected = PRAGMA_VALUES[(option.partition("=")[2] or "normal").lower()]
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert (tmp_path / "x.db").exists() and not list(tmp_path.glob("*synchronous*"))
    db.dispose()


def test_unknown_synchronous_value_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="synchronous='sometimes'.*off, normal, full, extra"):
        Database(f"sqlite:///{tmp_path / 'x.db'}?synchronous=sometimes")
