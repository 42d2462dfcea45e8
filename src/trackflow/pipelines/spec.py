"""The serialized shape of a DAG: what the scheduler, store and API know about it.

Authoring turns a DAG object into a :class:`DagSpec` (plain data, JSON round-trip); the
scheduler decides from specs alone, so it never needs to import user code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any


@dataclass(frozen=True)
class MapInput:
    """One ``.expand()`` argument: a literal collection of known length, or a task's output."""

    name: str
    kind: str  # "literal" | "output"
    length: int = 0  # literal only
    task_id: str = ""  # output only
    key: str = "return_value"


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The fields ``cls`` has: a spec written by a newer trackflow (another replica during an
    upgrade) still reads, without the fields this version does not know."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}


@dataclass(frozen=True)
class TaskSpec:
    task_id: str
    operator: str
    upstream: tuple[str, ...] = ()
    downstream: tuple[str, ...] = ()
    trigger_rule: str = "all_success"
    retries: int = 0
    retry_delay: float = 300.0  # seconds
    retry_exponential_backoff: bool = False
    max_retry_delay: float | None = None
    execution_timeout: float | None = None
    pool: str = "default_pool"
    pool_slots: int = 1
    priority_weight: int = 1  # effective weight (own + all downstream, Airflow's "downstream" rule)
    queue: str = "default"
    map_inputs: tuple[MapInput, ...] = ()
    is_mapped: bool = False
    is_empty: bool = False  # an EmptyOperator without callbacks: marked success, never run
    task_group: str | None = None
    doc: str | None = None
    outlets: tuple[dict[str, Any], ...] = ()  # {"name", "uri", "group"} of an Asset, {"alias"} of an AssetAlias
    mapped_group: str | None = None  # in a mapped task group: mapped by its map_inputs, per map index with its tasks
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False  # a teardown whose failure fails the run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskSpec:
        data = _known(cls, data)
        data["upstream"] = tuple(data.get("upstream", ()))
        data["downstream"] = tuple(data.get("downstream", ()))
        data["map_inputs"] = tuple(MapInput(**m) for m in data.get("map_inputs", ()))
        data["outlets"] = tuple(data.get("outlets", ()))
        return cls(**data)


@dataclass(frozen=True)
class DagSpec:
    dag_id: str
    fileloc: str = ""
    description: str | None = None
    schedule: str | None = None  # human summary ("@daily", "0 * * * *", "1:00:00", None)
    timetable: dict[str, Any] = field(default_factory=lambda: {"kind": "none"})
    start_date: str | None = None  # ISO 8601, aware
    end_date: str | None = None
    timezone: str = "UTC"
    catchup: bool = False
    max_active_runs: int = 16
    max_active_tasks: int = 16
    dagrun_timeout: float | None = None
    has_callbacks: bool = False  # the DAG has on_success_callback / on_failure_callback
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # ParamsDict.dump()
    is_paused_upon_creation: bool | None = None
    experiment_name: str | None = None
    doc_md: str | None = None
    tasks: tuple[TaskSpec, ...] = ()  # topological order

    @cached_property
    def task_map(self) -> dict[str, TaskSpec]:
        return {t.task_id: t for t in self.tasks}

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(up, t.task_id) for t in self.tasks for up in t.upstream]

    @property
    def leaves(self) -> list[str]:
        return [t.task_id for t in self.tasks if not t.downstream]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tasks"] = [t.to_dict() for t in self.tasks]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DagSpec:
        data = _known(cls, data)
        data["tasks"] = tuple(TaskSpec.from_dict(t) for t in data.get("tasks", ()))
        data["tags"] = tuple(data.get("tags", ()))
        data["owners"] = tuple(data.get("owners", ()))
        return cls(**data)
