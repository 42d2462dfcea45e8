"""`trackflow dags ...`: list, test, trigger, pause/unpause, backfill, runs, clear, mark, logs."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from trackflow.cli.options import OUTPUT_OPTION, json_object
from trackflow.config import Settings
from trackflow.errors import NotFound
from trackflow.pipelines.state import FINISHED_RUN, MARKABLE, RunState


def _conf(value: str | None) -> dict[str, Any] | None:
    return None if value is None else json_object(value, "--conf")


def _pipelines(settings: Settings) -> Any:
    """Pipeline operations on the tracking database, or through the server's /api/v1 when the
    tracking URI is a server URL."""
    uri = settings.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        from trackflow.pipelines.remote import RemotePipelines

        return RemotePipelines(uri, settings.tracking_token)
    from trackflow.pipelines.operations import Pipelines

    return Pipelines(settings)


def _ensure_parsed(pipelines: Any, dag_id: str, folder: str | None) -> None:
    """Parse the dags folder when the DAG is not known yet (or --dags-folder was given)."""
    if folder is None:
        try:
            pipelines.get_dag(dag_id)
            return
        except NotFound:
            pass
    pipelines.sync_folder(folder)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


@click.group()
def dags() -> None:
    """Pipelines: list, test, trigger, pause/unpause, backfill, runs, clear, mark, logs."""


@dags.command("list")
@click.option("--dags-folder", help="Folder to parse (default: the configured dags folder).")
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_obj
def list_dags(settings: Settings, dags_folder: str | None, output: str) -> None:
    """Parse the dags folder (in a separate process) and list its DAGs and import errors."""
    from trackflow.cli.render import console, print_table

    pipelines = _pipelines(settings)
    pipelines.sync_folder(dags_folder)
    records = pipelines.list_dags()
    errors = pipelines.import_errors()
    if output == "json":
        click.echo(json.dumps({
            "dags": [{"dag_id": r.dag_id, "fileloc": r.fileloc, "is_paused": r.is_paused, "schedule": r.schedule,
                      "tasks": len(r.spec.get("tasks", []))} for r in records],
            "import_errors": [{"fileloc": e.fileloc, "stacktrace": e.stacktrace} for e in errors],
        }, indent=2))
        return
    print_table("DAGs", ["dag_id", "schedule", "paused", "tasks", "file"],
                [(r.dag_id, r.schedule or "None", "yes" if r.is_paused else "no", len(r.spec.get("tasks", [])),
                  r.fileloc) for r in records])
    for error in errors:
        console().print(f"[bold red]Import error[/] in {error.fileloc}:", highlight=False)
        console().print(error.stacktrace, markup=False, highlight=False)


@dags.command("test")
@click.argument("dag_id")
@click.option("--logical-date", help="ISO date/datetime of the run (default: now).")
@click.option("--dags-folder", help="Folder (or file) holding the DAG (default: the configured dags folder).")
@click.option("--conf", help="JSON object: the run's conf (checked against the DAG's params).")
@click.option("--airflow-imports/--no-airflow-imports", default=None,
              help="Resolve the DAG file's airflow.* imports to trackflow (Airflow DAG files unchanged).")
@click.pass_context
def test_dag(ctx: click.Context, dag_id: str, logical_date: str | None, dags_folder: str | None,
             conf: str | None, airflow_imports: bool | None) -> None:
    """Run one DAG run now, printing task states; exit 0 if it succeeded, 1 if it failed."""
    from trackflow.pipelines.dagbag import load_file
    from trackflow.pipelines.operations import find_dag_file, parse_date
    from trackflow.pipelines.runtime.dag_test import test_dag as run_test

    settings: Settings = ctx.obj
    if airflow_imports is not None:
        settings = settings.with_overrides(airflow_imports=airflow_imports)
    if settings.airflow_imports:
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.install()
    conf_value = _conf(conf)
    date = parse_date(logical_date, "--logical-date") if logical_date else None
    folder = dags_folder or settings.resolved_dags_folder
    errors: dict[str, str] = {}
    for path in find_dag_file(folder, dag_id):
        result = load_file(path)
        for dag in result.dags:
            if dag.dag_id == dag_id:
                state = run_test(dag, logical_date=date, conf=conf_value,
                                 settings=settings.with_overrides(dags_folder=folder))
                sys.exit(0 if state == RunState.SUCCESS else 1)
        if result.error:
            errors[path] = result.error
            if dag_id.encode() in open(path, "rb").read():
                break  # the file that should define it failed: report that
    detail = "".join(f"\nimport error in {path}:\n{trace}" for path, trace in errors.items())
    raise NotFound(f"DAG {dag_id!r} not found in {folder}{detail}")


@dags.command("trigger")
@click.argument("dag_id")
@click.option("--conf", help="JSON object: the run's conf (checked against the DAG's params).")
@click.option("--logical-date", help="ISO date/datetime (default: now).")
@click.option("--run-id", help="Run id (default: manual__<logical date>).")
@click.option("--partition-key", help="The partition this run is for (partitioned assets).")
@click.option("--dags-folder", help="Parse this folder first.")
@click.pass_obj
def trigger(settings: Settings, dag_id: str, conf: str | None, logical_date: str | None, run_id: str | None,
            partition_key: str | None, dags_folder: str | None) -> None:
    """Create a manual DAG run; the scheduler (`trackflow server`) runs it."""
    from trackflow.pipelines.operations import parse_date

    pipelines = _pipelines(settings)
    _ensure_parsed(pipelines, dag_id, dags_folder)
    run = pipelines.trigger(dag_id, _conf(conf), parse_date(logical_date, "--logical-date") if logical_date else None,
                            run_id, partition_key)
    click.echo(f"Created DAG run {run.run_id} of {dag_id} (state {run.state})")


def _set_paused(settings: Settings, dag_id: str, paused: bool, dags_folder: str | None) -> None:
    pipelines = _pipelines(settings)
    _ensure_parsed(pipelines, dag_id, dags_folder)
    pipelines.set_paused(dag_id, paused)
    click.echo(f"DAG {dag_id} is {'paused' if paused else 'unpaused'}")


@dags.command("pause")
@click.argument("dag_id")
@click.option("--dags-folder", help="Parse this folder first.")
@click.pass_obj
def pause(settings: Settings, dag_id: str, dags_folder: str | None) -> None:
    """Pause a DAG: no new scheduled runs, queued runs wait."""
    _set_paused(settings, dag_id, True, dags_folder)


@dags.command("unpause")
@click.argument("dag_id")
@click.option("--dags-folder", help="Parse this folder first.")
@click.pass_obj
def unpause(settings: Settings, dag_id: str, dags_folder: str | None) -> None:
    """Unpause a DAG."""
    _set_paused(settings, dag_id, False, dags_folder)


@dags.command("runs")
@click.argument("dag_id")
@click.option("--state", help="Only runs in this state (queued, running, success, failed).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=25, show_default=True)
@click.option("--run-id", help="Show this run's task instances instead.")
@OUTPUT_OPTION
@click.pass_obj
def list_runs(settings: Settings, dag_id: str, state: str | None, limit: int, run_id: str | None, output: str) -> None:
    """List the runs of a DAG, or the task instances of one run."""
    from trackflow.cli.render import print_table

    pipelines = _pipelines(settings)
    if run_id:
        detail = pipelines.run_detail(dag_id, run_id)
        print_table(f"{dag_id} / {run_id}: {detail.run.state}",
                    ["task_id", "map_index", "state", "try", "start", "end", "duration", "note"],
                    [(t.task_id, "" if t.map_index < 0 else t.map_index, t.state or "none", t.try_number,
                      _fmt(t.start_date), _fmt(t.end_date),
                      f"{t.duration:.2f}s" if t.duration is not None else "", t.note or "")
                     for t in detail.task_instances], output)
        return
    runs = pipelines.list_runs(dag_id, state, limit)
    print_table(f"Runs of {dag_id}", ["run_id", "state", "type", "logical date", "start", "end"],
                [(r.run_id, r.state, r.run_type, _fmt(r.logical_date), _fmt(r.start_date), _fmt(r.end_date))
                 for r in runs], output)


@dags.command("clear")
@click.argument("dag_id")
@click.argument("run_id")
@click.option("-t", "--task-id", "task_ids", multiple=True, required=True, help="Task to clear (repeatable).")
@click.option("--downstream", is_flag=True, help="Also clear everything downstream.")
@click.option("--upstream", is_flag=True, help="Also clear everything upstream.")
@click.pass_obj
def clear(settings: Settings, dag_id: str, run_id: str, task_ids: tuple[str, ...], downstream: bool,
          upstream: bool) -> None:
    """Clear task instances so the scheduler runs them again."""
    cleared = _pipelines(settings).clear(dag_id, run_id, list(task_ids), downstream, upstream)
    click.echo(f"Cleared: {', '.join(cleared) or 'nothing'}")


@dags.command("mark")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("state", type=click.Choice(sorted(s.value for s in MARKABLE)))  # values: click shows enum names
@click.option("-t", "--task-id", "task_ids", multiple=True, required=True, help="Task to mark (repeatable).")
@click.option("--downstream", is_flag=True, help="Also mark everything downstream.")
@click.option("--upstream", is_flag=True, help="Also mark everything upstream.")
@click.pass_obj
def mark(settings: Settings, dag_id: str, run_id: str, state: str, task_ids: tuple[str, ...],
         downstream: bool, upstream: bool) -> None:
    """Set task instances' state by hand."""
    marked = _pipelines(settings).mark(dag_id, run_id, list(task_ids), state, downstream, upstream)
    click.echo(f"Marked {state}: {', '.join(marked) or 'nothing'}")


@dags.command("logs")
@click.argument("dag_id")
@click.argument("run_id")
@click.argument("task_id")
@click.option("--map-index", type=int, default=-1, show_default=True)
@click.option("--try", "try_number", type=int, help="Try number (default: the latest).")
@click.pass_obj
def show_logs(settings: Settings, dag_id: str, run_id: str, task_id: str, map_index: int,
              try_number: int | None) -> None:
    """Print the log of a task try (works while it runs)."""
    chosen, text = _pipelines(settings).read_log(dag_id, run_id, task_id, map_index, try_number)
    click.echo(f"--- {task_id} try {chosen.try_number} ({chosen.state}) ---", err=True)
    click.echo(text, nl=False)


@dags.command("backfill")
@click.argument("dag_id")
@click.option("-s", "--start-date", required=True, help="First logical date (ISO), inclusive.")
@click.option("-e", "--end-date", required=True, help="Last logical date (ISO), inclusive.")
@click.option("--conf", help="JSON object: conf of every backfill run.")
@click.option("--dags-folder", help="Parse this folder first.")
@click.option("--create-only", is_flag=True, help="Only create the runs; a running scheduler executes them.")
@click.pass_obj
def backfill(settings: Settings, dag_id: str, start_date: str, end_date: str, conf: str | None,
             dags_folder: str | None, create_only: bool) -> None:
    """Create (and run, with a progress bar) one run per scheduled date in a range."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from trackflow.pipelines.operations import parse_date

    if settings.resolved_tracking_uri.startswith(("http://", "https://")):
        raise click.UsageError("backfill runs on the database: pass its URI as --tracking-uri, not a server URL")
    pipelines = _pipelines(settings)
    _ensure_parsed(pipelines, dag_id, dags_folder)
    start, end = parse_date(start_date, "--start-date"), parse_date(end_date, "--end-date")
    dates = pipelines.backfill_plan(dag_id, start, end)
    runs = pipelines.create_backfill(dag_id, start, end, _conf(conf))
    click.echo(f"Backfill of {dag_id}: {len(dates)} date(s), {len(runs)} new run(s), "
               f"{len(dates) - len(runs)} already covered")
    if create_only or not runs:
        return
    from trackflow.pipelines.executors.base import BaseExecutor, executor_for
    from trackflow.pipelines.runtime.dag_test import pipeline_db_uri
    from trackflow.pipelines.scheduler.lease import SchedulerLease
    from trackflow.pipelines.scheduler.loop import SchedulerLoop, utcnow

    # The runs are ordinary queued runs: the scheduler that owns the database executes them.
    # With none running, this command becomes that scheduler (the lease keeps a server that
    # starts meanwhile from driving the same runs) until its runs are over.
    lease = SchedulerLease(pipelines.store)
    keys = {(r.dag_id, r.run_id) for r in runs}
    executor: BaseExecutor | None = None
    loop: SchedulerLoop | None = None
    if lease.acquire(utcnow()):
        executor = executor_for(settings)
        executor.start()
        loop = SchedulerLoop(pipelines.store, executor, settings, pipeline_db_uri(settings), pipelines.tracking,
                             only_runs=keys, schedule_runs=False, name=lease.holder)
    else:
        click.echo(f"The scheduler of this database ({lease.current.split(':')[0]}) executes them; "
                   "following their progress (Ctrl-C stops following, not the runs).")
    failed = 0
    try:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[status]}"), TimeElapsedColumn()) as progress:
            bar = progress.add_task(f"backfill {dag_id}", total=len(runs), status="")
            while True:
                busy = False
                if loop is not None and lease.keep(utcnow()):
                    busy = loop.tick()
                states = [pipelines.store.get_dag_run(d, r).state for d, r in keys]
                done = sum(s in FINISHED_RUN for s in states)
                failed = sum(s == RunState.FAILED for s in states)
                running = sum(s == RunState.RUNNING for s in states)
                progress.update(bar, completed=done, status=f"{running} running, {failed} failed")
                if done == len(keys) and (executor is None or not executor.running()):
                    break
                if busy:
                    continue
                if executor is not None:
                    executor.wait(0.1)
                else:
                    time.sleep(0.5)
    finally:
        if executor is not None:
            executor.stop()
        lease.release()
    click.echo(f"Backfill finished: {len(runs) - failed} succeeded, {failed} failed")
    if failed:
        sys.exit(1)
