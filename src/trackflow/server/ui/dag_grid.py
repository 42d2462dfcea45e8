"""Data of the DAG grid (runs x tasks, tasks in DAG order) and of the task panel a grid cell
opens (tries, tracked runs, log, clear/mark), shared by the pages and their /api/v1/ui twins.

The grid reads every task instance it shows in one query (``task_instance_grid``): a DAG of
200 tasks over 50 runs is one SELECT, not 10,000.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from trackflow.auth.permissions import REGISTERED_MODEL
from trackflow.entities.pipelines import DagRun, TIState
from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.spec import DagSpec
from trackflow.server.access import readable_only
from trackflow.server.api_v1.pipelines import pipelines
from trackflow.server.api_v1.registry import registry
from trackflow.server.services import Services
from trackflow.server.ui.data import quote_literal
from trackflow.server.ui.urls import Urls
from trackflow.store.pipeline_base import GridCell

GRID_RUNS = 25
MAX_GRID_RUNS = 100
# A mapped task's cell shows the state that most needs attention among its map indexes.
# None: a task instance with no state yet.
_SEVERITY: tuple[TIState | None, ...] = (
    TIState.FAILED, TIState.UPSTREAM_FAILED, TIState.UP_FOR_RETRY, TIState.RUNNING, TIState.QUEUED, TIState.DEFERRED,
    TIState.UP_FOR_RESCHEDULE, TIState.SCHEDULED, None, TIState.REMOVED, TIState.SKIPPED, TIState.SUCCESS)


def summary_state(states: list[str | None]) -> str | None:
    """The state a row of several task instances (a mapped task) shows: the most pressing one."""
    if not states:
        return None
    present = {s or None for s in states}
    for state in _SEVERITY:
        if state in present:
            return None if state is None else str(state)
    return states[0]


@dataclass
class GridRunColumn:
    run_id: str
    state: str
    run_type: str
    logical_date: datetime
    url: str
    task_url_prefix: str  # + a row's task_url_suffix = the task panel of that cell




@dataclass
class GridCellView:
    state: str | None
    try_number: int
    mapped_count: int = 0  # a mapped task: how many map indexes this run has


@dataclass
class GridRow:
    task_id: str
    label: str  # the task id without its task group prefix
    group: str | None
    depth: int  # task-group nesting, for indentation
    operator: str
    is_mapped: bool
    task_url_suffix: str  # after a run column's task_url_prefix: the cell's task panel
    cells: list[GridCellView]  # one per run column, in the same order
    map_rows: list[GridRow] = field(default_factory=list)  # a mapped task: one row per map index


@dataclass
class GridPage:
    dag_id: str
    is_paused: bool
    runs: list[GridRunColumn]  # oldest first (left to right)
    rows: list[GridRow]  # tasks in DAG order
    offset: int
    next_offset: int | None  # older runs
    live: bool  # a run shown is unfinished: the page refreshes itself


def _label(task_id: str, group: str | None) -> str:
    prefix = f"{group}."
    return task_id[len(prefix):] if group and task_id.startswith(prefix) else task_id


def grid_page(services: Services, dag_id: str, offset: int = 0, limit: int = GRID_RUNS) -> GridPage:
    """NotFound for an unknown DAG; InvalidInput for a bad offset or limit. The ``limit`` newest
    runs after skipping ``offset`` of them, shown oldest first."""
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}")
    if not 1 <= limit <= MAX_GRID_RUNS:
        raise InvalidInput(f"limit must be between 1 and {MAX_GRID_RUNS}, got {limit}")
    ops: Pipelines = pipelines(services)
    record = ops.get_dag(dag_id)
    spec = DagSpec.from_dict(record.spec)
    newest = ops.store.list_dag_runs(dag_id, limit=limit + 1, offset=offset)
    next_offset = offset + limit if len(newest) > limit else None
    runs: list[DagRun] = list(reversed(newest[:limit]))
    by_key: dict[tuple[str, str], list[GridCell]] = defaultdict(list)
    for cell in ops.store.task_instance_grid(dag_id, [r.run_id for r in runs]):
        by_key[(cell.task_id, cell.run_id)].append(cell)
    rows = []
    for task in spec.tasks:
        cells = []
        indexes = 0
        for run in runs:
            found = by_key.get((task.task_id, run.run_id), [])
            if len(found) == 1 and found[0].map_index < 0:  # the common case, kept cheap (10,000 cells)
                cells.append(GridCellView(found[0].state, found[0].try_number))
                continue
            found = sorted(found, key=lambda c: c.map_index)
            mapped = [c for c in found if c.map_index >= 0]
            indexes = max(indexes, len(mapped))
            shown = mapped or found
            cells.append(GridCellView(
                summary_state([c.state for c in shown]) if shown else None,
                max((c.try_number for c in shown), default=0),
                len(mapped),
            ))
        row = GridRow(task.task_id, _label(task.task_id, task.task_group), task.task_group,
                      task.task_group.count(".") + 1 if task.task_group else 0, task.operator,
                      task.is_mapped or indexes > 0, Urls.task_suffix(task.task_id), cells)
        for index in range(indexes):
            row.map_rows.append(GridRow(
                f"{task.task_id}[{index}]", f"[{index}]", task.task_group, row.depth + 1, task.operator, False,
                Urls.task_suffix(task.task_id, index),
                [_map_cell(run.run_id, task.task_id, index, by_key) for run in runs],
            ))
        rows.append(row)
    columns = [GridRunColumn(r.run_id, r.state, r.run_type, r.logical_date, Urls.dag_run(dag_id, r.run_id),
                             Urls.task_prefix(dag_id, r.run_id)) for r in runs]
    live = any(r.state in (decisions.RUN_QUEUED, decisions.RUN_RUNNING) for r in runs)
    return GridPage(dag_id, record.is_paused, columns, rows, offset, next_offset, live)


def _map_cell(run_id: str, task_id: str, index: int, by_key: dict[tuple[str, str], list[GridCell]]) -> GridCellView:
    for cell in by_key.get((task_id, run_id), ()):
        if cell.map_index == index:
            return GridCellView(cell.state, cell.try_number)
    return GridCellView(None, 0)


# The task panel ------------------------------------------------------------------------------
@dataclass
class TryRow:
    try_number: int
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    hostname: str | None
    tracking_run_id: str | None
    tracking_run_url: str | None
    log_url: str  # the try's log page (whole log, no script needed)


@dataclass
class MadeModel:
    """A model version registered from one of the task's tries (its tracked run)."""

    name: str
    version: str
    try_number: int
    url: str


@dataclass
class TaskPanel:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    operator: str
    state: str | None
    try_number: int
    max_tries: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    note: str | None
    upstream: list[str]
    downstream: list[str]
    map_indexes: list[int]  # a mapped task's expanded indexes (its panel at map_index -1)
    tries: list[TryRow]
    models: list[MadeModel]  # model versions whose source run is one of the tries' tracked runs
    live: bool  # the task instance has not finished
    log_api_url: str | None  # /api/v1 log of the latest try, polled with ?offset= while it runs
    clear_api_url: str
    mark_api_url: str
    grid_url: str


def readable_models(request: Any, panel: TaskPanel) -> TaskPanel:
    """The panel with only the model versions the signed-in user may READ (all with auth off):
    a DAG reader does not learn the names of registered models hidden from them."""
    return replace(panel, models=readable_only(request, panel.models, REGISTERED_MODEL, lambda m: m.name))


def task_panel(services: Services, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskPanel:
    """NotFound for an unknown DAG, run or task. A mapped task's panel at map index -1 lists
    its map indexes (its instances are per index)."""
    ops: Pipelines = pipelines(services)
    spec = ops.spec(dag_id)
    ops.store.get_dag_run(dag_id, run_id)
    task = spec.task_map.get(task_id)
    if task is None:
        raise NotFound(f"task {task_id!r} not found in DAG {dag_id!r}")
    cells = [c for c in ops.store.task_instance_grid(dag_id, [run_id]) if c.task_id == task_id]
    indexes = sorted(c.map_index for c in cells if c.map_index >= 0)
    if map_index < 0 and indexes:
        ti_state = summary_state([c.state for c in cells if c.map_index >= 0])
        panel = TaskPanel(dag_id, run_id, task_id, -1, task.operator, ti_state, max(c.try_number for c in cells),
                          task.retries, None, None, None, None, list(task.upstream), list(task.downstream), indexes,
                          [], [], ti_state in decisions.UNFINISHED, None, Urls.api_clear_task(dag_id, run_id, task_id),
                          Urls.api_mark_task(dag_id, run_id, task_id), Urls.dag_grid(dag_id))
        return panel
    ti = ops.store.get_task_instance(dag_id, run_id, task_id, map_index)
    tries = [
        TryRow(t.try_number, t.state, t.start_date, t.end_date, t.hostname, t.tracking_run_id,
               Urls.run(t.tracking_run_id) if t.tracking_run_id else None,
               Urls.task_log(dag_id, run_id, task_id, map_index, t.try_number))
        for t in ops.store.list_tries(dag_id, run_id, task_id, map_index)
    ]
    return TaskPanel(
        dag_id, run_id, task_id, map_index, task.operator, ti.state, ti.try_number, ti.max_tries, ti.start_date,
        ti.end_date, ti.duration, ti.note, list(task.upstream), list(task.downstream), [], tries,
        _made_models(services, tries), ti.state in decisions.UNFINISHED,
        Urls.api_task_log(dag_id, run_id, task_id, map_index, tries[-1].try_number) if tries else None,
        Urls.api_clear_task(dag_id, run_id, task_id), Urls.api_mark_task(dag_id, run_id, task_id),
        Urls.dag_grid(dag_id),
    )


def _made_models(services: Services, tries: list[TryRow]) -> list[MadeModel]:
    """One registry query for every try's tracked run."""
    by_run = {t.tracking_run_id: t.try_number for t in tries if t.tracking_run_id}
    if not by_run:
        return []
    ids = ", ".join(quote_literal(r) for r in by_run)
    found = registry(services).search_model_versions(f"run_id IN ({ids})", 100, ["version_number DESC"])
    return [MadeModel(v.name, v.version, by_run.get(v.run_id or "", 0), Urls.model_version(v.name, v.version))
            for v in found.items]
