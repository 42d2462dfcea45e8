"""`trackflow gc`: purge deleted runs and experiments for good, artifacts included."""

from __future__ import annotations

import re

import click
from rich.progress import Progress

from trackflow.config import Settings
from trackflow.tracking.gc import collect_garbage, plan_garbage

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration_ms(text: str) -> int:
    """'30d', '12h', '90m', '45s', '2w' or combinations like '1d12h' -> milliseconds."""
    parts = re.findall(r"(\d+)([smhdw])", text.strip())
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise click.BadParameter(f"{text!r} is not a duration like 30d, 12h, 1d12h", param_hint="--older-than")
    return sum(int(n) * _UNITS[u] for n, u in parts) * 1000


@click.command()
@click.option("--older-than", help="Only what was deleted longer ago than this (e.g. 30d, 12h).")
@click.option("--dry-run", is_flag=True, help="Show what would be purged.")
@click.pass_obj
def gc(settings: Settings, older_than: str | None, dry_run: bool) -> None:
    """Permanently remove deleted runs and experiments with their artifacts."""
    from trackflow.tracking.client import Client

    client = Client(settings=settings)
    plan = plan_garbage(client, parse_duration_ms(older_than) if older_than else None)
    if dry_run:
        click.echo(f"would purge {len(plan.runs)} runs and {len(plan.experiments)} experiments")
        return
    with Progress() as progress:
        bar = progress.add_task("purging", total=plan.size)
        result = collect_garbage(client, plan, on_step=lambda: progress.advance(bar))
    click.echo(f"purged {result.runs} runs and {result.experiments} experiments")
