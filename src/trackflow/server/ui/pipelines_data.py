"""Data of the pipeline pages (DAGs, DAG runs, task logs), shared by the HTML views and
their /api/v1/ui twins. The Pipelines object is the one the /api/v1 pipeline routes use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trackflow.entities.pipelines import DagRecord, DagRun, ImportErrorRecord, TaskInstance
from trackflow.errors import InvalidInput, NotFound
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.scheduler.timetables import Restriction, deserialize_timetable
from trackflow.pipelines.spec import DagSpec
from trackflow.server.api_v1.pipelines import pipelines
from trackflow.server.services import Services
from trackflow.server.ui.urls import Urls

RUNS_PER_PAGE = 25
# The log page shows the end of a log; the whole file stays downloadable through the API.
MAX_LOG_CHARS = 512 * 1024


def _ops(services: Services) -> Pipelines:
    return pipelines(services)


# The DAG list shows this many of each DAG's newest runs as coloured squares.
RECENT_RUNS = 10
MAX_CODE_BYTES = 1024 * 1024


@dataclass
class RecentRun:
    run_id: str
    state: str
    logical_date: datetime
    url: str


@dataclass
class DagRow:
    dag_id: str
    is_paused: bool
    schedule: str | None
    tags: list[str]
    fileloc: str
    last_parsed: datetime | None
    latest_run: DagRun | None
    recent_runs: list[RecentRun]  # oldest first, the newest RECENT_RUNS
    next_run: datetime | None  # when the scheduler next creates a run (None: not on a time schedule)
    next_run_due: bool  # that time has come (the scheduler creates it on its next tick, unless paused)
    url: str  # the DAG's grid
    pause_api_url: str  # PATCH {"is_paused": ...}


@dataclass
class DagsPage:
    dags: list[DagRow]
    import_errors: list[ImportErrorRecord]


def next_run_after(spec: DagSpec, last_logical_date: datetime | None, now: datetime) -> datetime | None:
    """When the scheduler will create the DAG's next scheduled run (as loop.create_due_runs
    decides it); None for a DAG without a time schedule."""
    timetable = deserialize_timetable(spec.timetable)
    restriction = Restriction(
        earliest=datetime.fromisoformat(spec.start_date) if spec.start_date else None,
        latest=datetime.fromisoformat(spec.end_date) if spec.end_date else None,
        catchup=spec.catchup,
    )
    info = timetable.next_dagrun_info(last_logical_date, restriction, now)
    return None if info is None else info.run_after


def dags_page(services: Services) -> DagsPage:
    """Three queries whatever the number of DAGs: the DAGs, their recent runs, the dates their
    schedules continue from."""
    ops = _ops(services)
    recent = ops.store.recent_runs_by_dag(RECENT_RUNS)
    last_dates = ops.store.last_automated_dates()
    now = datetime.now(UTC)
    rows = []
    for record in ops.list_dags():
        runs = recent.get(record.dag_id, [])
        spec = DagSpec.from_dict(record.spec)
        next_at = next_run_after(spec, last_dates.get(record.dag_id), now)
        rows.append(
            DagRow(
                record.dag_id,
                record.is_paused,
                record.schedule,
                list(spec.tags),
                record.fileloc,
                record.last_parsed,
                runs[0] if runs else None,
                [RecentRun(r.run_id, r.state, r.logical_date, Urls.dag_run(r.dag_id, r.run_id))
                 for r in reversed(runs)],
                next_at,
                next_at is not None and next_at <= now,
                Urls.dag_grid(record.dag_id),
                Urls.api_dag(record.dag_id),
            )
        )
    return DagsPage(rows, ops.import_errors())


@dataclass
class ParamField:
    """One input of the trigger form, from a DAG param and its JSON schema."""

    name: str
    label: str
    description: str | None
    kind: str  # string | integer | number | boolean | enum | json | date | datetime
    required: bool  # no default: the run's conf must give it
    value: str  # the form's initial text (JSON text for enum and json kinds)
    enum: list[str]  # enum kind: each option's JSON text
    schema: dict[str, Any]


@dataclass
class TriggerPage:
    dag_id: str
    is_paused: bool
    fields: list[ParamField]
    api_url: str  # POST here: {"conf": {...}, "logical_date"?, "run_id"?}
    grid_url: str


def _param_field(name: str, dumped: dict[str, Any]) -> ParamField:
    schema = dumped.get("schema") or {}
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    main = next((t for t in types if t != "null"), None)
    default = dumped.get("default")
    has_default = dumped.get("has_default", True)
    if "enum" in schema:
        kind = "enum"
    elif main in ("string", "integer", "number", "boolean") and len([t for t in types if t != "null"]) == 1:
        kind = main
        if main == "string" and schema.get("format") in ("date", "date-time"):
            kind = "date" if schema["format"] == "date" else "datetime"
    else:
        kind = "json"
    if kind in ("enum", "json"):
        value = json.dumps(default) if has_default else ""
    elif kind == "boolean":
        value = "true" if default else "false"
    else:
        value = "" if default is None or not has_default else str(default)
    return ParamField(name, str(schema.get("title") or name), dumped.get("description") or schema.get(
        "description"), kind, not has_default, value, [json.dumps(v) for v in schema.get("enum", [])], schema)


def trigger_page(services: Services, dag_id: str) -> TriggerPage:
    """NotFound for an unknown DAG."""
    record = _ops(services).get_dag(dag_id)
    spec = DagSpec.from_dict(record.spec)
    fields = [_param_field(name, dumped) for name, dumped in spec.params.items()]
    return TriggerPage(dag_id, record.is_paused, fields, Urls.api_dag_runs(dag_id), Urls.dag_grid(dag_id))


@dataclass
class CodePage:
    dag_id: str
    is_paused: bool
    fileloc: str
    source: str | None
    message: str | None  # why there is no source


def code_page(services: Services, dag_id: str) -> CodePage:
    """The DAG file as this server reads it now (it may have changed since it was parsed);
    NotFound for an unknown DAG."""
    record = _ops(services).get_dag(dag_id)
    path = Path(record.fileloc)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_CODE_BYTES + 1)
    except OSError as exc:
        return CodePage(dag_id, record.is_paused, record.fileloc, None, f"cannot read {record.fileloc}: {exc.strerror}")
    text = data[:MAX_CODE_BYTES].decode("utf-8", errors="replace")
    note = "Showing the first 1 MB only." if len(data) > MAX_CODE_BYTES else None
    return CodePage(dag_id, record.is_paused, record.fileloc, text, note)


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
