"""``DagStateTrigger``: fires when a DAG run reaches one of the given states (the deferred
wait of TriggerDagRunOperator). Reads the pipeline database of the triggerer's settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from trackflow.errors import NotFound
from trackflow.pipelines.triggers.base import BaseTrigger, TriggerEvent, classpath_of


class DagStateTrigger(BaseTrigger):
    def __init__(self, dag_id: str, run_id: str, states: Iterable[str], poll_interval: float = 5.0) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.run_id = run_id
        self.states = list(states)
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return classpath_of(self), {"dag_id": self.dag_id, "run_id": self.run_id, "states": self.states,
                                    "poll_interval": self.poll_interval}

    def _state(self) -> str | None:
        from trackflow.config import load_settings
        from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
        from trackflow.pipelines.runtime.task_runner import open_db
        from trackflow.store.sql.pipeline_store import SqlPipelineStore

        store = SqlPipelineStore(open_db(pipeline_db_uri(load_settings())))
        try:
            return store.get_dag_run(self.dag_id, self.run_id).state
        except NotFound:
            return None

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            state = await asyncio.to_thread(self._state)
            if state in self.states:
                yield TriggerEvent({"dag_id": self.dag_id, "run_id": self.run_id, "state": state})
                return
            await asyncio.sleep(self.poll_interval)
