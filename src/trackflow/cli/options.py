"""Options shared by several commands (click only, so importing them stays cheap)."""

from __future__ import annotations

import click

OUTPUT_OPTION = click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: one JSON array of objects keyed by the column names, for scripts.",
)
