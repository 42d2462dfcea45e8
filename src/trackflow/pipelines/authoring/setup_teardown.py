"""``with setup_task >> teardown_task:`` — work tasks created inside run between the two.

As Airflow: entering a setup (or a teardown) task opens a scope on the DAG; the work tasks
created inside are recorded, and on exit the ones without upstream get the scope's setups
upstream and the ones without downstream get its teardowns downstream. A teardown's setups are
found by walking upstream from it (and a setup's teardowns downstream from it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trackflow.errors import InvalidInput

if TYPE_CHECKING:
    from trackflow.pipelines.authoring.baseoperator import BaseOperator


@dataclass
class SetupTeardownScope:
    task: BaseOperator  # the setup or teardown task the ``with`` statement entered
    work: list[BaseOperator] = field(default_factory=list)  # tasks created inside

    def add_task(self, task: Any) -> None:
        """``with setup >> teardown as scope: scope.add_task(t)`` — a task made outside the block
        runs inside it too (Airflow's ``SetupTeardownContext.add_task``)."""
        self.work.append(task.operator if hasattr(task, "operator") else task)


def _nearest(start: list[BaseOperator], wanted: str, origin: BaseOperator) -> list[BaseOperator]:
    """The closest tasks with ``wanted`` set ("is_setup"/"is_teardown"), walking the graph from
    ``start`` both ways level by level (Airflow's search)."""
    seen = {origin.task_id}
    level = [t for t in start if t.task_id not in seen]
    while level:
        found = [t for t in level if getattr(t, wanted)]
        if found:
            return found
        seen.update(t.task_id for t in level)
        level = [r for t in level for r in (t.upstream_list + t.downstream_list) if r.task_id not in seen]
    return []


def enter(task: BaseOperator) -> SetupTeardownScope:
    if not (task.is_setup or task.is_teardown):
        raise InvalidInput(f"only setup or teardown tasks can be used with 'with', not {task.task_id!r}")
    if task.dag is None:
        raise InvalidInput(f"task {task.task_id!r} must belong to a DAG to be used with 'with'")
    scope = SetupTeardownScope(task)
    task.dag.setup_teardown_scopes.append(scope)
    return scope


def _setups_and_teardowns(task: BaseOperator) -> tuple[list[BaseOperator], list[BaseOperator]]:
    """The setups and teardowns a scope entered with ``task`` stands for."""
    if task.is_setup:
        return [task], _nearest(task.downstream_list, "is_teardown", origin=task)
    return _nearest(task.upstream_list, "is_setup", origin=task), [task]


def leave(task: BaseOperator) -> None:
    assert task.dag is not None
    scopes = task.dag.setup_teardown_scopes
    scope = scopes.pop()
    setups, teardowns = _setups_and_teardowns(task)
    if scopes:  # nested: the outer setups come first and the outer teardowns last (as Airflow)
        outer_setups, outer_teardowns = _setups_and_teardowns(scopes[-1].task)
        for outer in outer_setups:
            for setup in setups:
                if outer is not setup:
                    outer >> setup
        for outer in outer_teardowns:
            for teardown in teardowns:
                if outer is not teardown:
                    teardown >> outer
    work = [t for t in scope.work if not (t.is_setup or t.is_teardown)]
    if not work:
        return
    roots = [t for t in work if not t.upstream_task_ids] or work[:1]
    leaves = [t for t in work if not t.downstream_task_ids] or work[-1:]
    for setup in setups:
        for root in roots:
            setup >> root
    for teardown in teardowns:
        for leaf in leaves:
            leaf >> teardown
