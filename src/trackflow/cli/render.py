"""Terminal rendering helpers (rich tables)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

import click
from rich.console import Console
from rich.table import Table


def console() -> Console:
    return Console()


def ms_to_text(ms: int | None) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _is_id(column: str) -> bool:
    return column == "id" or column.endswith((" id", "_id"))


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], output: str = "table") -> None:
    """Rows as a table, or as JSON with ``output="json"``. Ids are never cut: their columns are as
    wide as their longest value, and piped output is as wide as the table needs."""
    rows = list(rows)
    if output == "json":
        keys = [column.replace(" ", "_") for column in columns]
        click.echo(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2, default=str))
        return
    cells = [["" if value is None else str(value) for value in row] for row in rows]
    widths = [max([len(column)] + [len(row[i]) for row in cells]) for i, column in enumerate(columns)]
    table = Table(title=title, show_lines=False)
    for column, width in zip(columns, widths, strict=True):
        if _is_id(column):
            table.add_column(column, min_width=width, no_wrap=True)
        else:
            table.add_column(column)
    for row in cells:
        table.add_row(*row)
    out = console()
    if not out.is_terminal:  # piped: nothing to fit, so nothing is wrapped or cut
        out = Console(width=max(out.width, sum(widths) + 3 * len(widths) + 1))
    out.print(table)
