"""The task and asset state stores (see state_tables.py). A task instance's state is written
only by its running try (compare-and-set on the try token, like its outputs), so a fenced try
changes nothing; it is read by every later try of that task instance. Values are JSON text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select

from trackflow.entities.pipelines import TIState
from trackflow.store.pipeline_base import TIKey
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import to_ms
from trackflow.store.sql.pipeline_tables import task_instances
from trackflow.store.sql.state_tables import asset_state, task_state

_TS = task_state.c
_AS = asset_state.c


def _ti_state(dag_id: str, run_id: str, ti: TIKey) -> Any:
    return and_(_TS.dag_id == dag_id, _TS.run_id == run_id, _TS.task_id == ti[0], _TS.map_index == ti[1])


class SqlStateStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _owned(conn: Any, dag_id: str, run_id: str, ti: TIKey, token: str) -> bool:
        c = task_instances.c
        return conn.execute(select(c.try_number).where(
            c.dag_id == dag_id, c.run_id == run_id, c.task_id == ti[0], c.map_index == ti[1],
            c.state == TIState.RUNNING, c.token == token)).first() is not None

    # Task state -------------------------------------------------------------------------------
    def get_task_state(self, dag_id: str, run_id: str, ti: TIKey, key: str, now: datetime) -> str | None:
        with self.db.read() as conn:
            return conn.execute(select(_TS.value).where(
                _ti_state(dag_id, run_id, ti), _TS.key == key,
                or_(_TS.expires_at.is_(None), _TS.expires_at > to_ms(now)))).scalar()

    def set_task_state(self, dag_id: str, run_id: str, ti: TIKey, token: str, key: str, value: str,
                       expires_at: datetime | None, now: datetime) -> bool:
        with self.db.write() as conn:
            if not self._owned(conn, dag_id, run_id, ti, token):
                return False
            conn.execute(delete(task_state).where(_ti_state(dag_id, run_id, ti), _TS.key == key))
            conn.execute(insert(task_state).values(dag_id=dag_id, run_id=run_id, task_id=ti[0], map_index=ti[1],
                                                   key=key, value=value, expires_at=to_ms(expires_at),
                                                   updated_at=to_ms(now)))
            return True

    def delete_task_state(self, dag_id: str, run_id: str, ti: TIKey, token: str, key: str | None) -> bool:
        """Delete ``key``, or every key of the task instance when None."""
        with self.db.write() as conn:
            if not self._owned(conn, dag_id, run_id, ti, token):
                return False
            where = _ti_state(dag_id, run_id, ti)
            conn.execute(delete(task_state).where(where if key is None else and_(where, _TS.key == key)))
            return True

    def purge_expired(self, now: datetime) -> int:
        with self.db.write() as conn:
            return int(conn.execute(delete(task_state).where(_TS.expires_at <= to_ms(now))).rowcount or 0)

    # Asset state ------------------------------------------------------------------------------
    def get_asset_state(self, asset: str, key: str) -> str | None:
        with self.db.read() as conn:
            return conn.execute(select(_AS.value).where(_AS.asset_name == asset, _AS.key == key)).scalar()

    def set_asset_state(self, dag_id: str, run_id: str, ti: TIKey, token: str, asset: str, key: str, value: str,
                        now: datetime) -> bool:
        """Written by a running try (its token), like its own state."""
        with self.db.write() as conn:
            if not self._owned(conn, dag_id, run_id, ti, token):
                return False
            conn.execute(delete(asset_state).where(_AS.asset_name == asset, _AS.key == key))
            conn.execute(insert(asset_state).values(asset_name=asset, key=key, value=value, updated_at=to_ms(now)))
            return True

    def delete_asset_state(self, dag_id: str, run_id: str, ti: TIKey, token: str, asset: str,
                           key: str | None) -> bool:
        with self.db.write() as conn:
            if not self._owned(conn, dag_id, run_id, ti, token):
                return False
            where = _AS.asset_name == asset
            conn.execute(delete(asset_state).where(where if key is None else and_(where, _AS.key == key)))
            return True
