"""The pipeline pages at issue 12's scale: a DAG of 200 tasks x 50 runs (tests/server/ui/grid_scale.py).

    .venv/bin/python benchmarks/bench_ui.py [--quick]

Server time of each page and its JSON twin, measured in process (the app called through
Starlette's test client: no network, no browser), median of N requests after a warm-up.
Target: <= 300 ms each. Writes its section of RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, at_most, fmt_num, say, table, write_section

sys.path.insert(0, str(ROOT / "tests" / "server" / "ui"))
sys.path.insert(0, str(ROOT / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from grid_scale import DAG_ID, RUNS, TASKS, build  # noqa: E402

from trackflow.config import Settings  # noqa: E402
from trackflow.server.app import create_app  # noqa: E402
from trackflow.server.services import Services  # noqa: E402

LIMIT_S = 0.300


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    a = ap.parse_args()
    repeats = 5 if a.quick else 25
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=tmp, tracking_uri=f"sqlite:///{Path(tmp) / 'db.sqlite'}")
        services = Services.from_settings(settings)
        say(f"building {TASKS} tasks x {RUNS} runs ...")
        build(services.db)
        run_id = f"run_{RUNS - 2:03d}"
        paths = {
            "DAG list page": "/dags",
            f"grid page ({TASKS} x {RUNS})": f"/dags/{DAG_ID}/grid?limit={RUNS}",
            "grid JSON": f"/api/v1/ui/dags/{DAG_ID}/grid?limit={RUNS}",
            "graph page": f"/dags/{DAG_ID}/graph?run_id={run_id}",
            "graph JSON": f"/api/v1/ui/dags/{DAG_ID}/graph?run_id={run_id}",
            "Gantt page": f"/dags/{DAG_ID}/runs/{run_id}/gantt",
        }
        rows = []
        with TestClient(create_app(settings, services)) as client:
            for name, path in paths.items():
                client.get(path).raise_for_status()  # warm-up
                times = []
                for _ in range(repeats):
                    start = time.perf_counter()
                    client.get(path).raise_for_status()
                    times.append(time.perf_counter() - start)
                median = statistics.median(times)
                rows.append([name, fmt_num(median, "s"), fmt_num(max(times), "s"),
                             at_most(median, LIMIT_S)])
                say(f"{name}: median {median * 1000:.1f} ms")
        services.db.dispose()
    body = (f"In process (test client), SQLite, median of {repeats} requests after one warm-up; "
            f"target <= {LIMIT_S * 1000:.0f} ms.\n\n"
            + table(["page", "median", "max", "<= 300 ms"], rows))
    write_section("ui", "Web UI pipeline pages (issue 12): 200 tasks x 50 runs", body, a.quick)


if __name__ == "__main__":
    main()
