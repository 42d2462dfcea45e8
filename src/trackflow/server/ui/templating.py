"""Rendering pages: the Jinja environment (autoescaping everything), its filters, and the
route class that turns trackflow errors raised by a page into an HTML error page."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from trackflow.errors import NotFound, TrackflowError
from trackflow.server.ui.data import NOTE_TAG
from trackflow.server.ui.urls import Urls

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
ENV_STATE_KEY = "ui_templates"  # app.state attribute holding this app's Environment


def _ms_time(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _dt(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(int(value), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m {secs}s"


def _run_duration(start_ms: int | None, end_ms: int | None) -> str:
    if start_ms is None or end_ms is None:
        return "—"
    return _seconds((end_ms - start_ms) / 1000)


def _num(value: float | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.6g}"


def _filesize(size: int | None) -> str:
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GB"


def _grid_cells(cells: list[Any], runs: list[Any], task_id: str, suffix: str, prefix_id: str) -> Markup:
    """The <td> cells of one grid row (a row of 50 runs, 200 rows in a large grid): built here
    rather than in the template, where 10,000 cells of escaped expressions cost ~10x the time.
    Every value is escaped once per row or per run."""
    task = escape(task_id)
    tail = escape(suffix)
    parts = []
    for i, (cell, run) in enumerate(zip(cells, runs, strict=True)):
        state = escape(cell.state or "none")
        count = cell.mapped_count
        extra = f" ({count} mapped)" if count else ""
        text = str(count) if count else ""
        href = f"{escape(run.task_url_prefix)}{tail}"
        parts.append(f'<td><a class="cell state-{state}" id="{prefix_id}-{i}" href="{href}" '
                     f'aria-label="{task} · {escape(run.run_id)}: {state}{extra}">{text}</a></td>')
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped


# CommonMark with raw HTML off: tags in a note are shown as text, and markdown-it refuses
# javascript:/vbscript:/data: link targets, so a note cannot run script on this origin.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def _markdown(text: str | None) -> Markup:
    return Markup(_MARKDOWN.render(text or ""))  # noqa: S704 - raw HTML is escaped by the renderer


def _as_json(value: Any, indent: int | None = None) -> str:
    """A value as readable JSON text (autoescaping makes it safe in HTML; tojson's \\u003c is not readable)."""
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every value is HTML-escaped unless explicitly marked safe
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["urls"] = Urls
    env.globals["grid_cells"] = _grid_cells
    env.globals["NOTE_TAG"] = NOTE_TAG
    env.filters.update(
        ms_time=_ms_time, dt=_dt, seconds=_seconds, run_duration=_run_duration, num=_num, filesize=_filesize,
        as_json=_as_json, markdown=_markdown,
    )
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env: jinja2.Environment = getattr(request.app.state, ENV_STATE_KEY)
    # a page of a browser session carries its CSRF token for the scripts' fetch calls and the sign-out form
    context.setdefault("session_csrf", getattr(request.state, "csrf", ""))
    user = getattr(request.state, "user", None)
    context.setdefault("signed_in", user.username if user is not None else "")
    context.setdefault("editable", False)  # edit controls (templates/_edit.html) only where a view allows them
    context.setdefault("is_admin", bool(user is not None and user.is_admin))
    body = env.get_template(template).render(**context)
    if status_code != 200:
        return HTMLResponse(body, status_code=status_code)
    # live pages re-fetch themselves every 2 s: an unchanged page is answered 304, not re-sent
    # (a 200-task x 50-run grid is ~1.5 MB); live.js sends the ETag it last got
    etag = '"' + hashlib.blake2b(body.encode(), digest_size=16).hexdigest() + '"'
    if request.headers.get("if-none-match") == etag:
        return HTMLResponse(None, status_code=304, headers={"ETag": etag})
    return HTMLResponse(body, headers={"ETag": etag})


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    titles = {404: "Not found", 400: "Bad request"}
    return render(
        request, "error.html", status_code, title=titles.get(status_code, "Error"), message=message, status=status_code
    )


class HtmlErrorRoute(APIRoute):
    """A page route whose trackflow and validation errors become an HTML page (404 for
    NotFound, 400 otherwise) instead of the JSON the API answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def html_errors(request: Request) -> Response:
            try:
                return await handler(request)
            except NotFound as exc:
                return error_page(request, 404, exc.message)
            except TrackflowError as exc:
                return error_page(request, 400, exc.message)
            except RequestValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
                ]
                return error_page(request, 400, "; ".join(problems) or "invalid request")

        return html_errors
