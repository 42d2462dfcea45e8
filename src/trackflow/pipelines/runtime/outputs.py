"""Task outputs: small values in the pipeline store, large ones in the artifact store.

A value is serialized (JSON, numpy, parquet or pickle); up to ``INLINE_LIMIT`` bytes it is
kept in the database row, beyond that it is written as an artifact of the producing try's
tracked run (``outputs/<key>[_<map_index>].<ext>``) and the row keeps its location. No size
limit applies. Reads record lineage: which task consumed which task's value.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from trackflow.entities.pipelines import LineageEdge, TaskOutput
from trackflow.pipelines.runtime import serializers
from trackflow.pipelines.runtime.channel import StoreChannel, TryChannel
from trackflow.store.pipeline_base import PipelineStore

INLINE_LIMIT = 64 * 1024

# Reads artifact bytes: (tracking_run_id, artifact path) -> bytes
ArtifactReader = Callable[[str, str], bytes]
# Writes artifact bytes: (tracking_run_id, artifact path, data) -> None
ArtifactWriter = Callable[[str, str, bytes], None]


class Fenced(Exception):
    """The try lost its task instance (cleared, marked, re-queued): it may write nothing more."""


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, (list, tuple, dict)) else None


class Outputs:
    """Outputs of one DAG run, as seen from one consuming task instance."""

    def __init__(self, channel: TryChannel, dag_id: str, run_id: str, consumer: tuple[str, int] | None = None,
                 reader: ArtifactReader | None = None, writer: ArtifactWriter | None = None) -> None:
        self.channel = channel
        self.dag_id = dag_id
        self.run_id = run_id
        self.consumer = consumer
        self.reader = reader
        self.writer = writer
        self.lineage: list[LineageEdge] = []

    @classmethod
    def of_run(cls, store: PipelineStore, dag_id: str, run_id: str, reader: ArtifactReader | None = None) -> Outputs:
        """A reader of a run's values outside any try (it can store nothing: it holds no token)."""
        return cls(StoreChannel(store, dag_id, run_id, ("", -1), ""), dag_id, run_id, reader=reader)

    def put(self, task_id: str, map_index: int, key: str, value: Any, tracking_run_id: str | None) -> TaskOutput:
        serializer = serializers.pick(value)
        data = serializer.dumps(value)
        uri = None
        if len(data) > INLINE_LIMIT and self.writer is not None and tracking_run_id:
            suffix = "" if map_index < 0 else f"_{map_index}"
            path = f"outputs/{key}{suffix}.{serializer.extension}"
            self.writer(tracking_run_id, path, data)
            uri = f"runs:/{tracking_run_id}/{path}"
        output = TaskOutput(
            dag_id=self.dag_id, run_id=self.run_id, task_id=task_id, map_index=map_index, key=key,
            serializer=serializer.name, data=None if uri else data, uri=uri, size_bytes=len(data),
            length=_length(value),
        )
        if not self.channel.put_output(output, datetime.now(UTC)):
            raise Fenced(f"task {task_id!r}: the try was cleared or marked while it ran: its value "
                         f"{key!r} is refused")
        return output

    def load(self, output: TaskOutput) -> Any:
        data = output.data
        if data is None:
            if not output.uri or self.reader is None:
                raise RuntimeError(f"output {output.key!r} of task {output.task_id!r} has no readable location")
            run_id, _, path = output.uri.removeprefix("runs:/").partition("/")
            data = self.reader(run_id, path)
        return serializers.by_name(output.serializer).loads(data)

    def get(self, task_id: str, key: str = "return_value", mapped: bool | None = None) -> Any:
        """The value ``task_id`` produced under ``key`` (None if it produced none).

        For a mapped producer the value is the list of every map index's value.
        """
        rows = self.channel.get_outputs(task_id, key)
        if self.consumer is not None:
            for row in rows:
                self.lineage.append(LineageEdge(self.dag_id, self.run_id, task_id, row.map_index, key,
                                                self.consumer[0], self.consumer[1]))
        is_mapped = mapped if mapped is not None else any(r.map_index >= 0 for r in rows)
        if is_mapped:
            return [self.load(r) for r in rows]
        return self.load(rows[0]) if rows else None

    def get_at(self, task_id: str, key: str, map_index: int) -> Any:
        """The value map index ``map_index`` of ``task_id`` produced under ``key`` (None if none):
        what a task of a mapped task group reads from another task of its group."""
        rows = [r for r in self.channel.get_outputs(task_id, key) if r.map_index == map_index]
        if self.consumer is not None:
            for row in rows:
                self.lineage.append(LineageEdge(self.dag_id, self.run_id, task_id, row.map_index, key,
                                                self.consumer[0], self.consumer[1]))
        return self.load(rows[0]) if rows else None

    def flush_lineage(self) -> None:
        if self.lineage:
            self.channel.record_lineage(self.lineage)
            self.lineage = []
