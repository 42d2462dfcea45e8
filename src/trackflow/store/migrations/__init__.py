"""Alembic migrations, run programmatically (no alembic.ini needed).

Each domain adds its own revision chain branching from ``0001_tracking``; ``upgrade``
applies every head, so the chains stay independent.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent

# The newest revision of each chain. Kept here so that start-up can tell "already current"
# without importing Alembic (tests/store/test_migrations.py checks it against Alembic's heads).
HEADS = frozenset({"0002_registry", "0019_connections", "0010_deployment", "0030_traces", "0023_sessions",
                   "0004_metric_series"})


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic loads only when a migration may run

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply all pending revisions. Safe to call repeatedly and from racing processes on
    PostgreSQL (an advisory lock serializes them); SQLite serializes through its file lock."""
    from alembic import command

    command.upgrade(alembic_config(engine), "heads")
