"""Options shared by several commands (click only, so importing them stays cheap)."""

from __future__ import annotations

import json
from typing import Any

import click

from trackflow.errors import InvalidInput

OUTPUT_OPTION = click.option(
    "--output",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="json: one JSON array of objects keyed by the column names, for scripts.",
)


def json_object(value: str, flag: str) -> dict[str, Any]:
    """A flag's value parsed as a JSON object; InvalidInput naming the flag otherwise."""
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise InvalidInput(f"{flag} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput(f"{flag} must be a JSON object, got {type(parsed).__name__}")
    return parsed
