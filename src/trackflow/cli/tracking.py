"""`trackflow experiments ...` and `trackflow runs ...`."""

from __future__ import annotations

import json

import click

from trackflow.cli.options import OUTPUT_OPTION
from trackflow.cli.render import console, ms_to_text, print_table
from trackflow.config import Settings
from trackflow.entities import ViewType
from trackflow.tracking.client import Client

VIEW_CHOICE = click.Choice([v.value for v in ViewType], case_sensitive=False)


@click.group()
def experiments() -> None:
    """List and create experiments."""


@experiments.command("list")
@click.option("--view", type=VIEW_CHOICE, default="ACTIVE_ONLY", show_default=True)
@click.option("--filter", "filter_string", help="e.g. \"name LIKE 'iris%'\"")
@click.option("--max-results", type=click.IntRange(1, 50_000), default=1000, show_default=True)
@OUTPUT_OPTION
@click.pass_obj
def list_experiments(settings: Settings, view: str, filter_string: str | None, max_results: int, output: str) -> None:
    """List experiments."""
    page = Client(settings=settings).search_experiments(ViewType(view.upper()), max_results, filter_string)
    print_table(
        "Experiments",
        ["id", "name", "stage", "artifact location", "created"],
        [
            (e.experiment_id, e.name, e.lifecycle_stage.value, e.artifact_location, ms_to_text(e.creation_time))
            for e in page
        ],
        output,
    )


@experiments.command("create")
@click.argument("name")
@click.option("--artifact-location", help="Where the experiment's artifacts go (default: the server's).")
@click.option("--tag", "tags", multiple=True, help="key=value, repeatable.")
@click.pass_obj
def create_experiment(settings: Settings, name: str, artifact_location: str | None, tags: tuple[str, ...]) -> None:
    """Create an experiment and print its id."""
    tag_map = {}
    for item in tags:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"tag {item!r} must look like key=value", param_hint="--tag")
        tag_map[key] = value
    experiment_id = Client(settings=settings).create_experiment(name, artifact_location, tag_map)
    click.echo(experiment_id)


@click.group()
def runs() -> None:
    """List and describe runs."""


@runs.command("list")
@click.option("--experiment-id", "experiment_ids", multiple=True, help="Repeatable (default: 0).")
@click.option("--experiment-name", "experiment_names", multiple=True, help="Repeatable.")
@click.option("--filter", "filter_string", default="", help="e.g. \"metrics.acc > 0.9 and params.C = '1'\"")
@click.option("--order-by", multiple=True, help="e.g. 'metrics.acc DESC', repeatable.")
@click.option("--view", type=VIEW_CHOICE, default="ACTIVE_ONLY", show_default=True)
@click.option("--max-results", type=click.IntRange(1, 50_000), default=100, show_default=True)
@OUTPUT_OPTION
@click.pass_obj
def list_runs(
    settings: Settings,
    experiment_ids: tuple[str, ...],
    experiment_names: tuple[str, ...],
    filter_string: str,
    order_by: tuple[str, ...],
    view: str,
    max_results: int,
    output: str,
) -> None:
    """List runs of one or more experiments."""
    client = Client(settings=settings)
    ids = list(experiment_ids)
    for name in experiment_names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise click.BadParameter(f"no experiment named {name!r}", param_hint="--experiment-name")
        ids.append(experiment.experiment_id)
    page = client.search_runs(ids or ["0"], filter_string, ViewType(view.upper()), max_results, list(order_by))
    metric_keys = sorted({k for r in page for k in r.data.metrics})[:6]
    print_table(
        "Runs",
        ["run id", "name", "status", "start", *[f"metrics.{k}" for k in metric_keys]],
        [
            (
                r.info.run_id,
                r.info.run_name,
                r.info.status.value,
                ms_to_text(r.info.start_time),
                *[r.data.metrics.get(k, "") for k in metric_keys],
            )
            for r in page
        ],
        output,
    )


@runs.command("describe")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_obj
def describe_run(settings: Settings, run_id: str, as_json: bool) -> None:
    """Show a run's info, params, metrics and tags."""
    from trackflow.store.rest.codec import run_to_json

    run = Client(settings=settings).get_run(run_id)
    if as_json:
        click.echo(json.dumps(run_to_json(run), indent=2))
        return
    info = run.info
    console().print(
        f"[bold]{info.run_name}[/bold] {info.run_id}  experiment {info.experiment_id}  "
        f"{info.status.value}  {ms_to_text(info.start_time)} → {ms_to_text(info.end_time)}\n"
        f"artifacts: {info.artifact_uri}"
    )
    print_table("Params", ["key", "value"], sorted(run.data.params.items()))
    print_table(
        "Metrics", ["key", "value", "step"], [(m.key, m.value, m.step) for m in run.data.latest_metrics.values()]
    )
    print_table("Tags", ["key", "value"], sorted(run.data.tags.items()))
