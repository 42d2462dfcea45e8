"""DAG object -> :class:`~trackflow.pipelines.spec.DagSpec` (validated, plain data)."""

from __future__ import annotations

from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.baseoperator import BaseOperator
from trackflow.pipelines.authoring.dag import DAG
from trackflow.pipelines.authoring.operators import EmptyOperator
from trackflow.pipelines.authoring.priority_strategy import PriorityWeightStrategy, strategy_weight
from trackflow.pipelines.authoring.xcom_arg import XComArg
from trackflow.pipelines.scheduler.timetables import tz_name
from trackflow.pipelines.spec import DagSpec, MapInput, TaskSpec


def _seconds(value: object) -> float | None:
    return None if value is None else value.total_seconds()  # type: ignore[attr-defined]


def _relatives(dag: DAG, task_id: str, upstream: bool) -> set[str]:
    seen: set[str] = set()
    stack = [task_id]
    while stack:
        task = dag.task_dict[stack.pop()]
        for other in task.upstream_task_ids if upstream else task.downstream_task_ids:
            if other not in seen:
                seen.add(other)
                stack.append(other)
    return seen


def _priority(dag: DAG, task: BaseOperator) -> int:
    if isinstance(task.weight_rule, PriorityWeightStrategy):
        return strategy_weight(task.weight_rule, task, dag.dag_id)
    if task.weight_rule == "absolute":
        return task.priority_weight
    others = _relatives(dag, task.task_id, upstream=task.weight_rule == "upstream")
    return task.priority_weight + sum(dag.task_dict[t].priority_weight for t in others)


def _map_inputs(task: BaseOperator) -> tuple[MapInput, ...]:
    group = task.mapped_group
    if group is not None:
        if task.is_mapped:
            raise InvalidInput(f"task {task.task_id!r} is mapped inside the mapped task group {group.group_id!r}: "
                               "trackflow maps a task by its group or by itself, not both")
        collections = group.expand_input.collections()
    else:
        collections = task.expand_input.collections() if task.expand_input is not None else []
    inputs = []
    for name, value in collections:
        if isinstance(value, XComArg):
            inputs.append(MapInput(name=name, kind="output", task_id=value.operator.task_id, key=value.key))
        else:
            inputs.append(MapInput(name=name, kind="literal", length=len(value)))
    return tuple(inputs)


def _is_empty(task: BaseOperator) -> bool:
    return (
        type(task).execute is EmptyOperator.execute
        and not (task.on_execute_callback or task.on_success_callback or task.on_failure_callback)
    )


def _outlet(outlet: Any) -> dict[str, Any]:
    from trackflow.pipelines.authoring.assets import Asset

    if isinstance(outlet, Asset):
        return {"name": outlet.name, "uri": outlet.uri, "group": outlet.group}
    return {"alias": outlet.name}


def _timetable(dag: DAG) -> dict[str, Any]:
    data = dag.timetable.serialize()
    if data.get("kind") == "custom":  # a user's class, imported beside the DAG file where it is asked
        data["fileloc"] = dag.fileloc
    return data


def serialize_dag(dag: DAG) -> DagSpec:
    """Validate ``dag`` (InvalidInput for a cycle or unknown dependency) and describe it."""
    dag.validate()
    order = dag.topological_order()
    tasks = []
    for task_id in order:
        task = dag.task_dict[task_id]
        tasks.append(
            TaskSpec(
                task_id=task_id,
                operator=getattr(task, "custom_operator_name", type(task).__name__),
                upstream=tuple(sorted(task.upstream_task_ids)),
                downstream=tuple(sorted(task.downstream_task_ids)),
                trigger_rule=task.trigger_rule.value,
                retries=task.retries,
                retry_delay=task.retry_delay.total_seconds(),
                retry_exponential_backoff=task.retry_exponential_backoff,
                max_retry_delay=_seconds(task.max_retry_delay),
                execution_timeout=_seconds(task.execution_timeout),
                pool=task.pool,
                pool_slots=task.pool_slots,
                priority_weight=_priority(dag, task),
                queue=task.queue,
                map_inputs=_map_inputs(task),
                is_mapped=task.is_mapped or task.mapped_group is not None,
                is_empty=_is_empty(task) and not task.is_mapped and task.mapped_group is None,
                task_group=task.task_group.group_id if task.task_group else None,
                doc=task.doc,
                outlets=tuple(_outlet(o) for o in task.outlets),
                mapped_group=task.mapped_group.group_id if task.mapped_group else None,
                is_setup=task.is_setup,
                is_teardown=task.is_teardown,
                on_failure_fail_dagrun=task.on_failure_fail_dagrun,
            )
        )
    owners = sorted({t.owner for t in dag.task_dict.values()})
    return DagSpec(
        dag_id=dag.dag_id,
        fileloc=dag.fileloc,
        description=dag.description,
        schedule=dag.timetable.summary if dag.schedule is not None else None,
        timetable=_timetable(dag),
        start_date=dag.start_date.isoformat() if dag.start_date else None,
        end_date=dag.end_date.isoformat() if dag.end_date else None,
        timezone=tz_name(dag.timezone),
        catchup=dag.catchup,
        max_active_runs=dag.max_active_runs,
        max_active_tasks=dag.max_active_tasks,
        dagrun_timeout=_seconds(dag.dagrun_timeout),
        has_callbacks=bool(dag.on_success_callback or dag.on_failure_callback),
        tags=tuple(dag.tags),
        owners=tuple(owners),
        params=dag.params.dump(),
        is_paused_upon_creation=dag.is_paused_upon_creation,
        experiment_name=dag.experiment_name,
        doc_md=dag.doc_md,
        tasks=tuple(tasks),
    )
