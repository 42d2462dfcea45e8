"""Metric charts as inline SVG, drawn on the server: the no-script fallback of the run page.

One polyline over the (already downsampled) points, a frame and the four range labels. It
was pygal, at ~15 ms a chart: a run page of 12 charts spent most of its time there. The SVG
carries no user text (titles and keys are rendered in HTML around it, escaped by Jinja) and
no script, so it can be inlined into a page as is.
"""

from __future__ import annotations

from trackflow.server.ui.data import MetricSeries

_PAD_LEFT, _PAD_BOTTOM, _PAD = 64, 36, 8


def _label(value: float) -> str:
    return f"{value:.6g}"


def metric_chart_svg(series: MetricSeries, width: int = 560, height: int = 240) -> str:
    """One line chart of ``series.points`` as an ``<svg>`` string (a dot for a single point)."""
    left, top = _PAD_LEFT, _PAD
    plot_w, plot_h = width - _PAD_LEFT - _PAD, height - _PAD_BOTTOM - _PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" font-family="system-ui, sans-serif" font-size="11">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#ffffff" stroke="#dddddd"/>',
    ]
    points = series.points
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        x_lo, x_hi, y_lo, y_hi = min(xs), max(xs), min(ys), max(ys)
        x_span, y_span = (x_hi - x_lo) or 1.0, (y_hi - y_lo) or 1.0

        def at(x: float, y: float) -> str:
            return f"{left + (x - x_lo) / x_span * plot_w:.1f},{top + plot_h - (y - y_lo) / y_span * plot_h:.1f}"

        if len(points) == 1:
            cx, cy = at(*points[0]).split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#2f6fb3"/>')
        else:
            line = " ".join(at(x, y) for x, y in points)
            parts.append(f'<polyline points="{line}" fill="none" stroke="#2f6fb3" stroke-width="1.5"/>')
        bottom = top + plot_h
        parts += [
            f'<text x="{left - 4}" y="{top + 10}" text-anchor="end" fill="#444444">{_label(y_hi)}</text>',
            f'<text x="{left - 4}" y="{bottom}" text-anchor="end" fill="#444444">{_label(y_lo)}</text>',
            f'<text x="{left}" y="{bottom + 14}" fill="#444444">{_label(x_lo)}</text>',
            f'<text x="{left + plot_w}" y="{bottom + 14}" text-anchor="end" fill="#444444">{_label(x_hi)}</text>',
        ]
    middle = left + plot_w // 2
    parts.append(f'<text x="{middle}" y="{height - 6}" text-anchor="middle" fill="#222222">{series.x_label}</text>')
    parts.append("</svg>")
    return "".join(parts)
