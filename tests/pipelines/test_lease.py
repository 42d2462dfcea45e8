"""The scheduler lease: one scheduler loop per database; a dead holder's lease is taken over."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from trackflow.pipelines.scheduler.lease import SchedulerLease, holder_is_dead
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.pipeline_tables import scheduler_lease

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlPipelineStore]:
    uri = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    with db.write() as conn:  # the PostgreSQL database is shared by the session's tests
        conn.execute(delete(scheduler_lease))
    yield SqlPipelineStore(db)
    db.dispose()


def test_one_holder_at_a_time(store: SqlPipelineStore) -> None:
    first, second = SchedulerLease(store, ttl_seconds=10), SchedulerLease(store, ttl_seconds=10)
    assert first.acquire(NOW) and first.held
    assert not second.acquire(NOW + timedelta(seconds=5)) and second.current == first.holder
    assert first.keep(NOW + timedelta(seconds=1))  # renewed without a write
    assert first.acquire(NOW + timedelta(seconds=6))  # renewed until +16 s
    assert not second.acquire(NOW + timedelta(seconds=15))
    assert second.acquire(NOW + timedelta(seconds=17))  # expired: taken over
    assert not first.acquire(NOW + timedelta(seconds=18))
    second.release()
    assert first.acquire(NOW + timedelta(seconds=18))


def test_a_dead_holder_on_this_machine_is_taken_over_at_once(store: SqlPipelineStore) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = int(gone.stdout)
    dead = SchedulerLease(store, ttl_seconds=60)
    dead.holder = f"{dead.holder.split(':')[0]}:{pid}:deadbeef"
    assert dead.acquire(NOW)
    assert holder_is_dead(dead.holder) and not holder_is_dead("another-host:1:x")
    assert SchedulerLease(store).acquire(NOW + timedelta(seconds=1))
