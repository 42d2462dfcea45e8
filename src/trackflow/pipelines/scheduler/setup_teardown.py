"""Setup and teardown tasks, read from a DagSpec (pure): which setups a task waits for, which
work a teardown waits for, and which tasks decide the run's state.

Airflow's rules: a work task waits for the setups upstream of it whose teardowns are downstream
of it (or that have none), also when they are not its direct upstreams; a teardown runs once
the tasks between its setups and it are done; a teardown's failure does not decide the run
unless it has ``on_failure_fail_dagrun``.
"""

from __future__ import annotations

from dataclasses import dataclass

from trackflow.pipelines.spec import DagSpec


def _flat(spec: DagSpec, task_id: str, upstream: bool) -> set[str]:
    tasks = spec.task_map
    seen: set[str] = set()
    stack = list(tasks[task_id].upstream if upstream else tasks[task_id].downstream)
    while stack:
        other = stack.pop()
        if other not in seen:
            seen.add(other)
            stack.extend(tasks[other].upstream if upstream else tasks[other].downstream)
    return seen


def relevant_setups(spec: DagSpec, task_id: str) -> set[str]:
    """The setups upstream of ``task_id`` that have a teardown downstream of it, or none."""
    tasks = spec.task_map
    downstream_teardowns = {t for t in _flat(spec, task_id, upstream=False) if tasks[t].is_teardown}
    return {
        s for s in _flat(spec, task_id, upstream=True) if tasks[s].is_setup and (
            not any(tasks[d].is_teardown for d in tasks[s].downstream)
            or set(tasks[s].downstream) & downstream_teardowns)
    }


def to_clear_with(spec: DagSpec, task_ids: list[str], include_downstream: bool) -> list[str]:
    """``task_ids`` and the setups and teardowns that must run again with them (as Airflow's
    clear): a work task's relevant setups and their teardowns; a setup's teardowns."""
    tasks = spec.task_map
    out = list(task_ids)
    for task_id in task_ids:
        if not tasks[task_id].is_setup:
            for setup in sorted(relevant_setups(spec, task_id)):
                out += [setup, *(d for d in tasks[setup].downstream if tasks[d].is_teardown and d != task_id)]
        elif not include_downstream:
            out += [d for d in tasks[task_id].downstream if tasks[d].is_teardown]
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class SetupTeardownView:
    indirect_setups: dict[str, frozenset[str]]  # work task -> setups it waits for beyond its direct upstream
    teardown_scope: dict[str, frozenset[str]]  # teardown -> tasks between its setups and it
    run_state_tasks: frozenset[str]  # the tasks whose states decide the run's state


def view(spec: DagSpec) -> SetupTeardownView:
    """The setup/teardown relations of ``spec``, computed once per spec: decisions ask for them
    on every tick of every run, and a spec never changes (a new version is a new object)."""
    cached = spec.__dict__.get("_setup_teardown_view")
    if cached is None:
        cached = spec.__dict__["_setup_teardown_view"] = _view(spec)
    return cached


def _view(spec: DagSpec) -> SetupTeardownView:
    tasks = spec.task_map
    if not any(t.is_setup or t.is_teardown for t in spec.tasks):
        return SetupTeardownView({}, {}, frozenset(spec.leaves))
    indirect: dict[str, frozenset[str]] = {}
    scope: dict[str, frozenset[str]] = {}
    for task in spec.tasks:
        if task.is_teardown:
            upstream = _flat(spec, task.task_id, upstream=True)
            setups = [s for s in task.upstream if tasks[s].is_setup]
            between = upstream - set(task.upstream)
            scope[task.task_id] = frozenset(
                t for s in setups for t in between & _flat(spec, s, upstream=False))
            continue
        relevant = relevant_setups(spec, task.task_id)
        if relevant - set(task.upstream):
            indirect[task.task_id] = frozenset(relevant - set(task.upstream))

    def ignorable(task_id: str) -> bool:
        return tasks[task_id].is_teardown and not tasks[task_id].on_failure_fail_dagrun

    # a leaf, or a task whose downstream tasks are all ignorable teardowns, unless it is one
    leaves = frozenset(t.task_id for t in spec.tasks
                       if all(ignorable(d) for d in t.downstream) and not ignorable(t.task_id))
    return SetupTeardownView(indirect, scope, leaves or frozenset(spec.leaves))
