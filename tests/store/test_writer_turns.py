"""SQLite writers take turns on a flock, and a held turn never blocks a writer forever."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

import trackflow.store.sql.database as database
from trackflow.store.sql.database import Database, _take_turn


def test_turn_times_out_when_held_elsewhere(tmp_path: Path) -> None:
    lock = tmp_path / "x-writer"
    holder = os.open(lock, os.O_RDWR | os.O_CREAT)
    waiter = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        assert _take_turn(waiter, timeout=0.05) is False
        fcntl.flock(holder, fcntl.LOCK_UN)
        assert _take_turn(waiter, timeout=0.05) is True
    finally:
        os.close(holder)
        os.close(waiter)


def test_write_proceeds_after_turn_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(f"sqlite:///{tmp_path / 't.db'}")
    db.upgrade()
    assert db._writer_lock_path is not None
    holder = os.open(db._writer_lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)  # e.g. a stopped process holding its turn
    monkeypatch.setattr(database, "_take_turn", lambda fd: _take_turn(fd, timeout=0.05))
    try:
        with db.write() as conn:
            conn.exec_driver_sql("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (0, 'k', 'v')")
        with db.read() as conn:
            assert conn.exec_driver_sql("SELECT value FROM experiment_tags WHERE key = 'k'").scalar() == "v"
    finally:
        os.close(holder)
        db.dispose()
