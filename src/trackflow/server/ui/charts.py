"""Metric charts as inline SVG, rendered on the server by pygal.

The SVG carries no user text (titles and keys are rendered in HTML around it, escaped by
Jinja) and no script, so it can be inlined into a page as is.
"""

from __future__ import annotations

import re

import pygal
from pygal.style import Style

from trackflow.server.ui.data import MetricSeries

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#444444",
    foreground_strong="#222222",
    foreground_subtle="#dddddd",
    colors=("#2f6fb3",),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
)
# pygal inlines a tiny config script for its (not loaded) tooltip JS; drop it.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


def metric_chart_svg(series: MetricSeries, width: int = 560, height: int = 240) -> str:
    """One line chart of ``series.points`` (already downsampled) as an ``<svg>`` string."""
    chart = pygal.XY(
        style=_STYLE,
        width=width,
        height=height,
        explicit_size=True,
        show_legend=False,
        show_dots=len(series.points) == 1,
        dots_size=3,
        js=[],
        disable_xml_declaration=True,
        x_title=series.x_label,
        show_x_guides=False,
        truncate_label=-1,
        margin=8,
    )
    chart.add("value", list(series.points))
    svg = chart.render(is_unicode=True)
    return _SCRIPT.sub("", svg)
