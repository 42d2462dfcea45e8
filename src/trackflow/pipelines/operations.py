"""What the CLI, the REST API and the UI do with pipelines: each function returns data.

:class:`Pipelines` bundles the store and the tracking link for one deployment (Settings).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trackflow.config import Settings
from trackflow.entities.pipelines import DagRecord, DagRun, ImportErrorRecord, TaskInstance, TaskTry
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.pipelines import runs as run_ops
from trackflow.pipelines.dagbag import ParseResult, list_dag_files, parse_folder
from trackflow.pipelines.runtime import logs
from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
from trackflow.pipelines.runtime.task_runner import open_db
from trackflow.pipelines.scheduler import asset_triggers, decisions
from trackflow.pipelines.scheduler.timetables import (
    CustomTimetable,
    DagRunInfo,
    as_aware,
    asset_condition,
    deserialize_timetable,
    partition_mappers,
)
from trackflow.pipelines.spec import DagSpec
from trackflow.pipelines.uri_refs import declared_names, resolve_uri_refs
from trackflow.store.sql.asset_store import SqlAssetStore, check_partition_key
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_date(value: str, name: str = "date") -> datetime:
    """ISO 8601 date or datetime; naive values are UTC."""
    try:
        return as_aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise InvalidInput(f"invalid {name} {value!r}: use ISO 8601, e.g. 2025-01-31 or 2025-01-31T06:00:00+00:00") \
            from None


@dataclass(frozen=True)
class RunDetail:
    run: DagRun
    task_instances: list[TaskInstance]


class Pipelines:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        if db is None:
            db = open_db(pipeline_db_uri(settings))
        self.db = db
        self.store = SqlPipelineStore(db)
        self.assets = SqlAssetStore(db)
        self.tracking = run_ops.RunTracking(settings)

    # DAGs ---------------------------------------------------------------------------------
    def sync_folder(self, folder: str | None = None, cancel: threading.Event | None = None) -> ParseResult:
        """Parse the dags folder in a child process and record DAGs and import errors;
        ParseCancelled (nothing recorded) once ``cancel`` is set."""
        folder = folder or self.settings.resolved_dags_folder
        if not Path(folder).exists():
            return ParseResult()
        result = parse_folder(folder, airflow_imports=self.settings.airflow_imports, cancel=cancel)
        known = {a.uri: a.name for a in self.assets.list_assets()}
        resolve_uri_refs(result.specs, {**known, **declared_names(result.specs)})
        self.store.sync_dags(result.specs, result.import_errors, result.files, utcnow())
        conditions = {spec["dag_id"]: asset_condition(spec.get("timetable") or {}) or {} for spec in result.specs}
        self.assets.sync_consumers({d: list(asset_triggers.asset_names(c)) for d, c in conditions.items()},
                                   {d: list(asset_triggers.alias_names(c)) for d, c in conditions.items()},
                                   partition_mappers(result.specs))
        return result

    def list_dags(self) -> list[DagRecord]:
        return self.store.list_dags()

    def import_errors(self) -> list[ImportErrorRecord]:
        return self.store.list_import_errors()

    def get_dag(self, dag_id: str) -> DagRecord:
        return self.store.get_dag(dag_id)

    def spec(self, dag_id: str) -> DagSpec:
        return DagSpec.from_dict(self.store.get_dag(dag_id).spec)

    def set_paused(self, dag_id: str, paused: bool) -> DagRecord:
        return self.store.set_paused(dag_id, paused)

    # Runs ---------------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, logical_date: datetime | None = None,
                run_id: str | None = None, partition_key: str | None = None) -> DagRun:
        spec = self.spec(dag_id)
        return run_ops.create_dag_run(self.store, self.tracking, spec, "manual", utcnow(),
                                      logical_date=logical_date, conf=conf, run_id=run_id,
                                      partition_key=check_partition_key(partition_key))

    def trigger_or_reset(self, dag_id: str, run_id: str, conf: dict[str, Any], logical_date: datetime,
                         reset: bool, fail_if_paused: bool = False) -> DagRun:
        """A task's TriggerDagRunOperator: a new run, or, with ``reset``, the existing run of
        that id cleared to run again (AlreadyExists without it; Conflict for a paused DAG
        with ``fail_if_paused``)."""
        if fail_if_paused and self.store.get_dag(dag_id).is_paused:
            raise Conflict(f"DAG {dag_id!r} is paused")
        try:
            return self.trigger(dag_id, conf, logical_date, run_id)
        except AlreadyExists:
            if not reset:
                raise
        self.clear(dag_id, run_id, [t.task_id for t in self.spec(dag_id).tasks])
        return self.store.get_dag_run(dag_id, run_id)

    def list_runs(self, dag_id: str | None = None, state: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[DagRun]:
        if dag_id is not None:
            self.store.get_dag(dag_id)
        if state is not None and state not in decisions.RUN_STATES:
            raise InvalidInput(f"invalid run state {state!r}: use one of {', '.join(decisions.RUN_STATES)}")
        return self.store.list_dag_runs(dag_id, [state] if state else None, limit=limit, offset=offset)

    def run_detail(self, dag_id: str, run_id: str) -> RunDetail:
        return RunDetail(self.store.get_dag_run(dag_id, run_id), self.store.list_task_instances(dag_id, run_id))

    def clear(self, dag_id: str, run_id: str, task_ids: list[str], include_downstream: bool = False,
              include_upstream: bool = False) -> list[str]:
        self.store.get_dag_run(dag_id, run_id)
        before = run_ops.clear_tasks(self.store, self.spec(dag_id), run_id, task_ids, utcnow(), include_downstream,
                                     include_upstream)
        self.tracking.follow(before, None)
        return list(dict.fromkeys(ti.task_id for ti in before))

    def mark(self, dag_id: str, run_id: str, task_ids: list[str], state: str,
             include_downstream: bool = False, include_upstream: bool = False) -> list[str]:
        self.store.get_dag_run(dag_id, run_id)
        before = run_ops.mark_tasks(self.store, self.spec(dag_id), run_id, task_ids, state, utcnow(),
                                    include_downstream, include_upstream)
        self.tracking.follow(before, state)
        return list(dict.fromkeys(ti.task_id for ti in before))

    def backfill_plan(self, dag_id: str, start: datetime, end: datetime) -> list[datetime]:
        if end < start:
            raise InvalidInput(f"backfill end date {end.isoformat()} is before start date {start.isoformat()}")
        return [info.logical_date for info in self.backfill_infos(dag_id, start, end)]

    def backfill_infos(self, dag_id: str, start: datetime, end: datetime) -> list[DagRunInfo]:
        """The scheduled runs with a logical date in [start, end] (a user's timetable is asked
        once, out of process)."""
        spec = self.spec(dag_id)
        timetable = deserialize_timetable(spec.timetable)
        if not timetable.periodic and timetable.kind != "once":
            raise InvalidInput(f"DAG {dag_id!r} has no schedule (schedule=None): there is nothing to backfill")
        return list(timetable.iter_between(start, end))

    def create_backfill(self, dag_id: str, start: datetime, end: datetime, conf: dict[str, Any] | None = None,
                        on_created: Callable[[DagRun | None, datetime], None] | None = None) -> list[DagRun]:
        """Create one backfill run per scheduled logical date in [start, end]; dates that already
        have a scheduled or backfill run are skipped."""
        spec = self.spec(dag_id)
        run_ops.validate_conf(spec, conf)
        timetable = deserialize_timetable(spec.timetable)
        created = []
        if end < start:
            raise InvalidInput(f"backfill end date {end.isoformat()} is before start date {start.isoformat()}")
        for planned in self.backfill_infos(dag_id, start, end):
            date = planned.logical_date
            # a user's timetable planned the whole run; the others' backfill runs are manual-like
            info = planned if isinstance(timetable, CustomTimetable) else timetable.manual_info(date)
            try:
                run = run_ops.create_dag_run(self.store, self.tracking, spec, "backfill", utcnow(), conf=conf,
                                             info=info)
                created.append(run)
            except Exception as exc:  # AlreadyExists: that date is covered
                if type(exc).__name__ != "AlreadyExists":
                    raise
                run = None
            if on_created is not None:
                on_created(run, date)
        return created

    # Logs ---------------------------------------------------------------------------------
    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[TaskTry]:
        """The tries of one task instance; a mapped task without a map index is an error that
        names the indexes it has."""
        try:
            self.store.get_task_instance(dag_id, run_id, task_id, map_index)
        except NotFound:
            indexes = sorted(
                ti.map_index for ti in self.store.list_task_instances(dag_id, run_id)
                if ti.task_id == task_id and ti.map_index >= 0
            )
            if map_index >= 0 or not indexes:
                raise
            raise InvalidInput(
                f"task {task_id!r} of run {run_id!r} is mapped: name a map index "
                f"({indexes[0]}..{indexes[-1]}, e.g. --map-index {indexes[0]})"
            ) from None
        return self.store.list_tries(dag_id, run_id, task_id, map_index)

    def read_log(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1,
                 try_number: int | None = None) -> tuple[TaskTry, str]:
        """The log text of one try (the latest by default): from the local file while it is
        being written, else from the try's tracked run artifacts."""
        tries = self.tries(dag_id, run_id, task_id, map_index)
        if not tries:
            raise NotFound(f"task {task_id!r} of run {run_id!r} has not started yet: no log")
        if try_number is None:
            chosen = tries[-1]
        else:
            matching = [t for t in tries if t.try_number == try_number]
            if not matching:
                raise NotFound(f"task {task_id!r} of run {run_id!r} has no try {try_number}")
            chosen = matching[0]
        text = logs.read_local(chosen.log_path) if chosen.log_path else None
        if text is None and chosen.tracking_run_id:
            try:
                data = self.tracking.client.artifact_repository(chosen.tracking_run_id).open_read(
                    f"logs/{logs.artifact_name(chosen.try_number)}")
                text = b"".join(data).decode("utf-8", errors="replace")
            except Exception:
                text = None
        if text is None:
            raise NotFound(f"the log of try {chosen.try_number} of task {task_id!r} is not available")
        return chosen, text


def find_dag_file(folder: str, dag_id: str, known: str | None = None) -> list[str]:
    """Files likely to define ``dag_id``, best first: the recorded fileloc, then files that
    mention the id, then every other DAG file."""
    files = list_dag_files(folder)
    pattern = re.compile(re.escape(dag_id).encode())
    mention = []
    for path in files:
        try:
            if pattern.search(Path(path).read_bytes()):
                mention.append(path)
        except OSError:
            continue
    ordered = ([known] if known and Path(known).exists() else []) + mention + files
    seen: list[str] = []
    for path in ordered:
        if path not in seen:
            seen.append(path)
    return seen
