"""Alembic environment: runs online against the engine handed over in config.attributes."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    if connection.dialect.name == "postgresql":
        # Racing `db upgrade`s (several servers starting at once) take turns.
        connection.execute(text("SELECT pg_advisory_lock(727274)"))
        connection.commit()
    try:
        context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_unlock(727274)"))
            connection.commit()
