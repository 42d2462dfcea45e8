"""Data of the pipeline pages (DAGs, DAG runs, task logs), shared by the HTML views and
their /api/v1/ui twins. The Pipelines object is the one the /api/v1 pipeline routes use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from trackflow.entities.pipelines import DagRecord, DagRun, ImportErrorRecord, TaskInstance
from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.spec import DagSpec
from trackflow.server.api_v1.pipelines import pipelines
from trackflow.server.services import Services

RUNS_PER_PAGE = 25
# The log page shows the end of a log; the whole file stays downloadable through the API.
MAX_LOG_CHARS = 512 * 1024


def _ops(services: Services) -> Pipelines:
    return pipelines(services)


@dataclass
class DagRow:
    dag_id: str
    is_paused: bool
    schedule: str | None
    tags: list[str]
    fileloc: str
    last_parsed: datetime | None
    latest_run: DagRun | None


@dataclass
class DagsPage:
    dags: list[DagRow]
    import_errors: list[ImportErrorRecord]


def dags_page(services: Services) -> DagsPage:
    ops = _ops(services)
    rows = []
    for record in ops.list_dags():
        latest = ops.store.list_dag_runs(record.dag_id, limit=1)
        rows.append(
            DagRow(
                record.dag_id,
                record.is_paused,
                record.schedule,
                list(record.spec.get("tags", [])),
                record.fileloc,
                record.last_parsed,
                latest[0] if latest else None,
            )
        )
    return DagsPage(rows, ops.import_errors())


@dataclass
class TaskRow:
    task_id: str
    operator: str
    upstream: list[str]
    trigger_rule: str
    retries: int


@dataclass
class DagPage:
    dag: DagRecord
    description: str | None
    tasks: list[TaskRow]
    runs: list[DagRun]
    offset: int
    next_offset: int | None


def dag_page(services: Services, dag_id: str, offset: int = 0) -> DagPage:
    """NotFound for an unknown DAG. Runs newest first, RUNS_PER_PAGE at a time."""
    if offset < 0:
        raise InvalidInput(f"offset must be >= 0, got {offset}")
    ops = _ops(services)
    record = ops.get_dag(dag_id)
    spec = DagSpec.from_dict(record.spec)
    tasks = [TaskRow(t.task_id, t.operator, list(t.upstream), t.trigger_rule, t.retries) for t in spec.tasks]
    runs = ops.store.list_dag_runs(dag_id, limit=RUNS_PER_PAGE + 1, offset=offset)
    next_offset = offset + RUNS_PER_PAGE if len(runs) > RUNS_PER_PAGE else None
    return DagPage(record, spec.description, tasks, runs[:RUNS_PER_PAGE], offset, next_offset)


@dataclass
class TaskInstanceRow:
    """A task instance as the UI shows it (no executor token)."""

    task_id: str
    map_index: int
    state: str | None
    try_number: int
    max_tries: int
    start_date: datetime | None
    end_date: datetime | None
    duration: float | None
    tracking_run_id: str | None
    note: str | None


@dataclass
class DagRunPage:
    run: DagRun
    task_instances: list[TaskInstanceRow]
    state_counts: dict[str, int]
    live: bool  # the run has not finished: the page refreshes itself


def _ti_row(ti: TaskInstance) -> TaskInstanceRow:
    return TaskInstanceRow(
        ti.task_id, ti.map_index, ti.state, ti.try_number, ti.max_tries, ti.start_date, ti.end_date,
        ti.duration, ti.tracking_run_id, ti.note,
    )


def dag_run_page(services: Services, dag_id: str, run_id: str) -> DagRunPage:
    """NotFound for an unknown DAG run."""
    detail = _ops(services).run_detail(dag_id, run_id)
    rows = [_ti_row(ti) for ti in detail.task_instances]
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state or "none"] = counts.get(row.state or "none", 0) + 1
    live = detail.run.state in (decisions.RUN_QUEUED, decisions.RUN_RUNNING)
    return DagRunPage(detail.run, rows, counts, live)


@dataclass
class TaskLogPage:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    state: str | None
    try_numbers: list[int]
    try_number: int | None  # the try shown; None before the first try starts
    content: str | None
    truncated: bool  # only the last MAX_LOG_CHARS characters are in ``content``
    message: str | None  # why there is no content
    live: bool  # the task has not finished: the page refreshes itself


def task_log_page(
    services: Services, dag_id: str, run_id: str, task_id: str, map_index: int = -1, try_number: int | None = None
) -> TaskLogPage:
    """NotFound for an unknown run, task or try number; a log not written yet is a message."""
    ops = _ops(services)
    ti = ops.store.get_task_instance(dag_id, run_id, task_id, map_index)
    tries = ops.tries(dag_id, run_id, task_id, map_index)
    numbers = [t.try_number for t in tries]
    if try_number is not None and try_number not in numbers:
        raise NotFound(f"task {task_id!r} of run {run_id!r} has no try {try_number}")
    live = ti.state in decisions.UNFINISHED
    page = TaskLogPage(dag_id, run_id, task_id, map_index, ti.state, numbers, None, None, False, None, live)
    if not tries:
        page.message = f"task {task_id!r} has not started yet (state: {ti.state or 'none'})"
        return page
    page.try_number = try_number or numbers[-1]
    # An older try's log is complete: only the latest one can still grow.
    page.live = live and page.try_number == numbers[-1]
    try:
        _, text = ops.read_log(dag_id, run_id, task_id, map_index, page.try_number)
    except NotFound as exc:
        page.message = exc.message
        return page
    page.truncated = len(text) > MAX_LOG_CHARS
    page.content = text[-MAX_LOG_CHARS:]
    return page
