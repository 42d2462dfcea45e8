"""Data of the graph view (tasks, edges and task groups, coloured by one run's states; laid
out in the browser by the vendored dagre) and of a run's Gantt chart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.spec import DagSpec
from trackflow.server.api_v1.pipelines import pipelines
from trackflow.server.services import Services
from trackflow.server.ui.dag_grid import summary_state
from trackflow.server.ui.urls import Urls

GRAPH_RUNS = 25  # runs offered in the graph's run chooser


@dataclass
class GraphNode:
    task_id: str
    label: str
    group: str | None  # innermost task group
    operator: str
    is_mapped: bool
    state: str | None  # in the chosen run (a mapped task: its most pressing state)
    url: str | None  # the task panel in the chosen run


@dataclass
class GraphGroup:
    group_id: str
    label: str
    parent: str | None


@dataclass
class GraphEdge:
    source: str
    target: str


@dataclass
class RunChoice:
    run_id: str
    state: str
    logical_date: datetime


@dataclass
class GraphPage:
    dag_id: str
    is_paused: bool
    nodes: list[GraphNode]  # DAG order
    edges: list[GraphEdge]
    groups: list[GraphGroup]  # outer groups before the groups inside them
    runs: list[RunChoice]  # newest first
    run_id: str | None  # the run whose states colour the nodes (the newest by default)
    live: bool  # that run is unfinished: the page polls its JSON twin


def graph_page(services: Services, dag_id: str, run_id: str | None = None) -> GraphPage:
    """NotFound for an unknown DAG or run."""
    ops: Pipelines = pipelines(services)
    record = ops.get_dag(dag_id)
    spec = DagSpec.from_dict(record.spec)
    runs = ops.store.list_dag_runs(dag_id, limit=GRAPH_RUNS)
    chosen = ops.store.get_dag_run(dag_id, run_id) if run_id else (runs[0] if runs else None)
    if chosen is not None and all(r.run_id != chosen.run_id for r in runs):
        runs.insert(0, chosen)
    states: dict[str, list[str | None]] = defaultdict(list)
    if chosen is not None:
        for cell in ops.store.task_instance_grid(dag_id, [chosen.run_id]):
            states[cell.task_id].append(cell.state)
    groups: dict[str, GraphGroup] = {}
    nodes = []
    for task in spec.tasks:
        group = task.task_group
        if group:
            parts = group.split(".")
            for depth in range(1, len(parts) + 1):
                gid = ".".join(parts[:depth])
                groups.setdefault(gid, GraphGroup(gid, parts[depth - 1], ".".join(parts[:depth - 1]) or None))
        label = task.task_id[len(group) + 1:] if group and task.task_id.startswith(f"{group}.") else task.task_id
        nodes.append(GraphNode(
            task.task_id, label, group, task.operator, task.is_mapped,
            summary_state(states.get(task.task_id, [])),
            Urls.task(dag_id, chosen.run_id, task.task_id) if chosen else None,
        ))
    ordered = sorted(groups.values(), key=lambda g: g.group_id.count("."))
    live = chosen is not None and chosen.state in (decisions.RUN_QUEUED, decisions.RUN_RUNNING)
    return GraphPage(dag_id, record.is_paused, nodes, [GraphEdge(a, b) for a, b in spec.edges], ordered,
                     [RunChoice(r.run_id, r.state, r.logical_date) for r in runs],
                     chosen.run_id if chosen else None, live)


# Gantt -------------------------------------------------------------------------------------------
@dataclass
class GanttBar:
    task_id: str
    map_index: int
    state: str | None
    try_number: int
    start_date: datetime | None
    end_date: datetime | None  # None while it runs (the bar reaches "now")
    left: float  # percent of the chart's width
    width: float
    url: str


@dataclass
class GanttPage:
    dag_id: str
    run_id: str
    run_state: str
    start: datetime | None  # the chart's time span
    end: datetime | None
    bars: list[GanttBar]  # DAG order; task instances that never started have no bar
    not_started: list[str]
    live: bool


def gantt_page(services: Services, dag_id: str, run_id: str) -> GanttPage:
    """NotFound for an unknown DAG or run."""
    ops: Pipelines = pipelines(services)
    spec = ops.spec(dag_id)
    run = ops.store.get_dag_run(dag_id, run_id)
    order = {t.task_id: i for i, t in enumerate(spec.tasks)}
    cells = sorted(ops.store.list_task_instances(dag_id, run_id),
                   key=lambda c: (order.get(c.task_id, len(order)), c.map_index))
    now = datetime.now(UTC)
    started = [c for c in cells if c.start_date is not None]
    not_started = [c.task_id if c.map_index < 0 else f"{c.task_id}[{c.map_index}]"
                   for c in cells if c.start_date is None]
    live = run.state in (decisions.RUN_QUEUED, decisions.RUN_RUNNING)
    if not started:
        return GanttPage(dag_id, run_id, run.state, None, None, [], not_started, live)
    start = min(c.start_date for c in started if c.start_date is not None)
    end = max((c.end_date or now) for c in started)
    span = max((end - start).total_seconds(), 0.001)
    bars = []
    for c in started:
        assert c.start_date is not None
        begin = (c.start_date - start).total_seconds()
        length = ((c.end_date or now) - c.start_date).total_seconds()
        bars.append(GanttBar(c.task_id, c.map_index, c.state, c.try_number, c.start_date, c.end_date,
                             round(100 * begin / span, 3), round(max(100 * length / span, 0.3), 3),
                             Urls.task(dag_id, run_id, c.task_id, c.map_index)))
    return GanttPage(dag_id, run_id, run.state, start, end, bars, not_started, live)
