"""The tracking pages at issue 12's scale: 5,000 runs x 20 metrics x 1,000 steps in one experiment,
plus one 100,000-point history.

    .venv/bin/python benchmarks/bench_tracking_ui.py [--quick] [--runs N --metrics M --steps S]

The database is seeded straight into the store's tables (_tracking_seed.py, ~15 GB and a few
minutes at full scale) and kept under benchmarks/.work/tracking_ui/ for the next run. A real
`trackflow server` serves it on a free port; each page and its /api/v1/ui JSON twin is timed as
client wall time of a GET on localhost over a kept-alive connection (the server sends no
Server-Timing header), median of N requests after one warm-up. Targets are absolute (no peer):
<= 300 ms per page and JSON, <= 100 ms for the 100,000-point chart's data and its zoom.
--quick: fewer repetitions on a smaller database (500 runs x 20 x 100); its section says so.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from _common import ROOT, WORK, at_most, fmt_num, free_port, machine_line, say, service, table, write_section
from _tracking_seed import EXPERIMENT, LONG_EXPERIMENT, LONG_KEY, Scale, metric_key, seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trackflow.store.paging import encode_page_token  # noqa: E402

PAGE_LIMIT_S = 0.300
CHART_LIMIT_S = 0.100


def seeded(scale: Scale) -> Path:
    """The cached database of ``scale``, seeded first if missing (atomically: a seed cut short
    leaves only a .partial file, removed on the next try)."""
    folder = WORK / "tracking_ui"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{scale.label}.sqlite"
    if path.exists():
        say(f"reusing {path}")
        return path
    partial = folder / f"{scale.label}.partial.sqlite"
    for leftover in folder.glob(f"{scale.label}.partial.sqlite*"):
        leftover.unlink()
    say(f"seeding {scale.rows:,} metric points into {partial} ...")
    t0 = time.perf_counter()
    seed(partial, scale, log=say)
    say(f"seeded in {time.perf_counter() - t0:.0f}s")
    partial.rename(path)
    return path


def fixtures(path: Path) -> dict[str, object]:
    """Ids the pages need, read back from the database."""
    con = sqlite3.connect(path)
    try:
        exp = {n: str(i) for i, n in con.execute("SELECT experiment_id, name FROM experiments")}
        runs = [r for (r,) in con.execute(
            "SELECT run_uuid FROM runs WHERE experiment_id = ? ORDER BY start_time DESC, run_uuid", (exp[EXPERIMENT],))]
        (long_run,) = con.execute("SELECT run_uuid FROM runs WHERE experiment_id = ?",
                                  (exp[LONG_EXPERIMENT],)).fetchone()
    finally:
        con.close()
    return {"experiment": exp[EXPERIMENT], "runs": runs, "long_run": long_run}


def paths(ids: dict[str, object], scale: Scale) -> list[tuple[str, str, float]]:
    experiment, runs, long_run = ids["experiment"], ids["runs"], ids["long_run"]
    assert isinstance(runs, list)
    run = runs[len(runs) // 2]
    later = encode_page_token(min(2000, len(runs) // 3))
    # About half the runs pass this filter; the order is a metric's latest value.
    search = (f"filter=metrics.{metric_key(0)}+%3C+2.5&order_by=metrics.{metric_key(3)}+DESC"
              f"&page_token={later}")
    # max_points as compare.js asks: 500 per run for a few runs, 200 for 50.
    three = "&".join(f"runs={r}" for r in runs[:3])
    fifty = "&".join(f"runs={r}" for r in runs[:50])
    ui = "/api/v1/ui"
    last = scale.long_points - 1
    zoom = f"x_min={last * 2 // 10}&x_max={last * 6 // 10}"
    page, chart = PAGE_LIMIT_S, CHART_LIMIT_S
    return [
        ("experiments list page", "/experiments", page),
        ("experiments list JSON", f"{ui}/experiments", page),
        ("run table, first page", f"/experiments/{experiment}", page),
        ("run table JSON, first page", f"{ui}/experiments/{experiment}", page),
        ("run table, later page, filter + order_by metric", f"/experiments/{experiment}?{search}", page),
        ("run table JSON, same", f"{ui}/experiments/{experiment}?{search}", page),
        (f"run page ({scale.metrics} metrics)", f"/runs/{run}", page),
        ("run page JSON", f"{ui}/runs/{run}", page),
        (f"metric chart data ({scale.steps} points)", f"{ui}/runs/{run}/metric-series?key={metric_key(0)}", page),
        ("compare 3 runs page", f"/experiments/{experiment}/compare?{three}", page),
        ("compare 3 runs JSON", f"{ui}/experiments/{experiment}/compare?{three}", page),
        ("compare 3 runs chart data (1 metric)",
         f"{ui}/experiments/{experiment}/compare/metric-series?key={metric_key(0)}&max_points=500&{three}", page),
        ("compare 50 runs page", f"/experiments/{experiment}/compare?{fifty}", page),
        ("compare 50 runs JSON", f"{ui}/experiments/{experiment}/compare?{fifty}", page),
        ("compare 50 runs chart data (1 metric)",
         f"{ui}/experiments/{experiment}/compare/metric-series?key={metric_key(0)}&max_points=200&{fifty}", page),
        (f"chart data, {scale.long_points:,}-point history", f"{ui}/runs/{long_run}/metric-series?key={LONG_KEY}",
         chart),
        ("same, zoomed to 40% of the steps", f"{ui}/runs/{long_run}/metric-series?key={LONG_KEY}&x=step&{zoom}", chart),
        ("same, wall-clock axis", f"{ui}/runs/{long_run}/metric-series?key={LONG_KEY}&x=wall", chart),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, smaller database")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--steps", type=int)
    a = ap.parse_args()
    scale = Scale(a.runs or (500 if a.quick else 5000), a.metrics, a.steps or (100 if a.quick else 1000), 100_000)
    repeats = 5 if a.quick else 15
    db_path = seeded(scale)
    ids = fixtures(db_path)
    rows = []
    load_before = machine_line()
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        # This interpreter and this checkout's sources (the venv's console script may point at another).
        cmd = [sys.executable, "-m", "trackflow", "server", "--port", str(port), "--no-scheduler",
               "--backend-store-uri", f"sqlite:///{db_path}", "--artifacts-destination", str(Path(home) / "artifacts")]
        env = {"TRACKFLOW_HOME": home, "PYTHONPATH": str(ROOT / "src")}
        with service("trackflow", cmd, Path(home) / "server.log", env=env) as server:
            base = f"http://127.0.0.1:{port}"
            server.wait_ready(base + "/health", 120)
            http = requests.Session()
            for name, path, limit in paths(ids, scale):
                http.get(base + path, timeout=120).raise_for_status()  # warm-up
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    http.get(base + path, timeout=120).raise_for_status()
                    times.append(time.perf_counter() - start)
                median = statistics.median(times)
                rows.append([name, fmt_num(median, "s"), fmt_num(max(times), "s"),
                             f"{limit * 1000:.0f} ms", at_most(median, limit)])
                say(f"{name}: median {median * 1000:.1f} ms (max {max(times) * 1000:.1f})")
    body = (f"Scale: {scale.runs:,} runs x {scale.metrics} metrics x {scale.steps:,} steps in one experiment "
            f"({scale.runs * scale.metrics * scale.steps:,} metric points) plus one {scale.long_points:,}-point "
            f"history; SQLite ({db_path.stat().st_size / 2**30:.1f} GB), seeded straight into the tables.\n"
            f"`trackflow server` on localhost; time = client wall time of a GET over a kept-alive connection "
            f"(no Server-Timing header), median of {repeats} after one warm-up. Absolute targets, no peer "
            f"(so no ratio).\nLoad before: {load_before}\nLoad after: {machine_line()}\n\n"
            + table(["page or data", "median", "max", "target", "met"], rows))
    title = f"Web UI tracking pages (issue 12): {scale.runs:,} runs x {scale.metrics} metrics x {scale.steps:,} steps"
    write_section("tracking_ui", title, body, a.quick)


if __name__ == "__main__":
    main()
