"""Deployment-wide settings kept in the database: one artifacts destination per deployment.

The server records the destination it serves; embedded clients that were not told one (the CLI,
``models serve``, task processes, notebooks) read it, so a run logged through one path shows its
artifacts through every other.
"""

from __future__ import annotations

import time

from sqlalchemy import BigInteger, Column, String, Table, Text, select
from sqlalchemy.exc import IntegrityError

from trackflow.store.sql.database import Database
from trackflow.store.sql.tables import metadata

deployment_settings = Table(
    "deployment_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_time", BigInteger, nullable=False),
)

ARTIFACTS_DESTINATION = "artifacts_destination"


def recorded_setting(db: Database, key: str) -> str | None:
    """The recorded value of ``key``, or None when nothing was recorded yet."""
    with db.read() as conn:
        return conn.execute(select(deployment_settings.c.value).where(deployment_settings.c.key == key)).scalar()


def record_setting(db: Database, key: str, value: str, replace: bool) -> str:
    """Record ``value`` for ``key`` and return what is recorded afterwards: with ``replace`` the
    new value; without, the value already there if any (the first writer wins a race)."""
    try:
        return _record(db, key, value, replace)
    except IntegrityError:  # another process inserted the key meanwhile (PostgreSQL): read it back
        return _record(db, key, value, replace)


def _record(db: Database, key: str, value: str, replace: bool) -> str:
    with db.write() as conn:
        current = conn.execute(
            select(deployment_settings.c.value).where(deployment_settings.c.key == key)
        ).scalar()
        now = int(time.time() * 1000)
        if current is None:
            conn.execute(deployment_settings.insert().values(key=key, value=value, updated_time=now))
            return value
        if replace and current != value:
            conn.execute(
                deployment_settings.update()
                .where(deployment_settings.c.key == key)
                .values(value=value, updated_time=now)
            )
            return value
        return current
