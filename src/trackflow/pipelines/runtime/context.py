"""The template/callable context of a running task (Airflow's names)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from trackflow.entities.pipelines import DagRun, TIState
from trackflow.pipelines.authoring.templating import FILTERS
from trackflow.pipelines.connections import ConnectionAccessor
from trackflow.pipelines.runtime import macros
from trackflow.pipelines.runtime.outputs import Outputs
from trackflow.pipelines.variables import VariableAccessor

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator
    from trackflow.pipelines.authoring.dag import DAG


class TaskInstanceHandle:
    """The ``ti`` / ``task_instance`` of the context: identity, try number, output access."""

    def __init__(self, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int, max_tries: int,
                 task: BaseOperator, outputs: Outputs, logical_date: datetime,
                 tracking_run_id: str | None = None) -> None:
        self.dag_id = dag_id
        self.run_id = run_id
        self.task_id = task_id
        self.map_index = map_index
        self.try_number = try_number
        self.max_tries = max_tries
        self.task = task
        self.outputs = outputs
        self.logical_date = logical_date
        self.tracking_run_id = tracking_run_id
        self.state = TIState.RUNNING
        self.start_date: datetime | None = None
        # A sensor's clock: when the first poke of this try started (kept across reschedules).
        self.first_poke_date: datetime | None = None
        self.skip_requests: list[str] = []  # every map index of these tasks
        self.skip_own_index: list[str] = []  # these tasks (of this try's mapped group) at its map index only
        self.pushed: dict[str, Any] = {}

    def xcom_pull(self, task_ids: str | Iterable[str] | None = None, key: str = "return_value",
                  dag_id: str | None = None, map_indexes: int | Iterable[int] | None = None,
                  default: Any = None, include_prior_dates: bool = False) -> Any:
        """A task's value (a list of values for several task ids, or for a mapped task)."""
        if task_ids is None:
            task_ids = sorted(self.task.upstream_task_ids)
            if len(task_ids) == 1:
                task_ids = task_ids[0]
        if isinstance(task_ids, str):
            value = self.outputs.get(task_ids, key)
            if isinstance(map_indexes, int) and isinstance(value, list):
                value = value[map_indexes] if map_indexes < len(value) else None
            return default if value is None else value
        return [self.outputs.get(t, key) for t in task_ids]

    def xcom_push(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (written when the task ends successfully or not)."""
        self.outputs.put(self.task_id, self.map_index, key, value, self.tracking_run_id)

    def states_of_dag_at(self, dag_id: str, logical_dates: list[datetime], task_ids: list[str] | None,
                         task_group_id: str | None = None) -> list[str | None]:
        """Another DAG's task-instance states (of task ids or a task group; run states
        without either) at those logical dates: what ExternalTaskSensor pokes."""
        return self.outputs.channel.states_at(dag_id, logical_dates, task_ids, task_group_id)

    def trigger_dag_run(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: datetime, reset: bool,
                        fail_if_paused: bool) -> None:
        """Start a run of another DAG (TriggerDagRunOperator)."""
        self.outputs.channel.trigger_dag_run(dag_id, run_id, conf, logical_date, reset, fail_if_paused)

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.outputs.channel.dag_run_state(dag_id, run_id)

    def skip_tasks(self, task_ids: Iterable[str]) -> None:
        """Ask for these (not yet started) tasks of the run to be skipped (branching): in a mapped
        task group, the tasks of the same group only at this map index (as Airflow)."""
        group = self.task.mapped_group
        for task_id in task_ids:
            dag = self.task.dag
            same_group = group is not None and dag is not None and task_id in dag.task_dict \
                and dag.task_dict[task_id].mapped_group is group
            (self.skip_own_index if same_group else self.skip_requests).append(task_id)

    def __repr__(self) -> str:
        suffix = "" if self.map_index < 0 else f"[{self.map_index}]"
        return f"<TaskInstance: {self.dag_id}.{self.task_id}{suffix} {self.run_id} [{self.state}]>"


def _macros_module() -> ModuleType:
    return macros


def build_context(dag: DAG, task: BaseOperator, run: DagRun, ti: TaskInstanceHandle,
                  params: dict[str, Any]) -> dict[str, Any]:
    logical_date = run.logical_date
    ds = FILTERS["ds"](logical_date)
    ds_nodash = FILTERS["ds_nodash"](logical_date)
    return {
        "dag": dag,
        "task": task,
        "ti": ti,
        "task_instance": ti,
        "run_id": run.run_id,
        "dag_run": run,
        "conf": run.conf,
        "logical_date": logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "run_after": run.run_after,
        "partition_key": run.partition_key,
        "partition_date": run.partition_date,
        "ds": ds,
        "ds_nodash": ds_nodash,
        "ts": FILTERS["ts"](logical_date),
        "ts_nodash": FILTERS["ts_nodash"](logical_date),
        "ts_nodash_with_tz": FILTERS["ts_nodash_with_tz"](logical_date),
        "params": params,
        "macros": _macros_module(),
        "task_instance_key_str": f"{dag.dag_id}__{task.task_id}__{ds_nodash}",
        "inlets": [],
        "outlets": [],
        "map_index_template": task.map_index_template,  # the task may set another before it ends
        "var": {"value": VariableAccessor(False), "json": VariableAccessor(True)},
        "conn": ConnectionAccessor(),
    }
