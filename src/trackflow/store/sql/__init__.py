"""The SQL store: all of trackflow's SQL lives under this package."""

from trackflow.store.sql.database import Database
from trackflow.store.sql.tracking_store import SqlTrackingStore

__all__ = ["Database", "SqlTrackingStore"]
