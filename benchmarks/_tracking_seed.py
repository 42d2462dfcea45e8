"""Seed a tracking database at issue 12's scale straight into the store's tables (SQLite).

Logging 100 million points through the API would take hours; here the schema comes from the
migrations (``Database.upgrade``) and the rows from INSERT ... SELECT over small generator
tables, in the order of the metrics index so every index insert is an append.

    .venv/bin/python benchmarks/_tracking_seed.py PATH [--runs N --metrics M --steps S]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from trackflow.store.sql import Database  # noqa: E402

EXPERIMENT = "scale"
LONG_EXPERIMENT = "long-history"
LONG_KEY = "loss"
PARAMS = {"lr": "0.001", "batch_size": "64", "optimizer": "adam", "layers": "4", "dropout": "0.1"}
START_MS = 1_700_000_000_000
STEP_MS = 100


@dataclass(frozen=True)
class Scale:
    runs: int
    metrics: int
    steps: int
    long_points: int  # the one history charted alone

    @property
    def label(self) -> str:
        return f"{self.runs}x{self.metrics}x{self.steps}+{self.long_points}"

    @property
    def rows(self) -> int:
        return self.runs * self.metrics * self.steps + self.long_points


def metric_key(i: int) -> str:
    return f"metric_{i:02d}"


def seed(path: Path, scale: Scale, log=print) -> dict[str, str]:  # noqa: ANN001
    """Create ``path`` holding experiment EXPERIMENT (scale.runs runs, each with scale.metrics
    metrics of scale.steps points) and LONG_EXPERIMENT (one run, LONG_KEY of scale.long_points
    points). Returns the experiment ids by name and the long run's id under "long_run"."""
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    db.dispose()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -1000000")  # 1 GB: the index pages being appended stay hot
    con.execute("PRAGMA temp_store = MEMORY")
    cur = con.cursor()
    ids = {}
    for name in (EXPERIMENT, LONG_EXPERIMENT):
        cur.execute(
            "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) "
            "VALUES (?, '', 'active', ?, ?)", (name, START_MS, START_MS))
        ids[name] = str(cur.lastrowid)
        cur.execute("UPDATE experiments SET artifact_location = ? WHERE experiment_id = ?",
                    (f"mlflow-artifacts:/{cur.lastrowid}", cur.lastrowid))

    def add_runs(experiment_id: str, count: int, prefix: str) -> list[str]:
        run_ids = sorted(uuid.uuid4().hex for _ in range(count))
        rows = [(r, int(experiment_id), f"{prefix}-{i}", "bench", "FINISHED", START_MS + i * 1000,
                 START_MS + i * 1000 + 500_000, "active", f"mlflow-artifacts:/{experiment_id}/{r}/artifacts")
                for i, r in enumerate(run_ids)]
        cur.execute("BEGIN")
        cur.executemany("INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, "
                        "lifecycle_stage, artifact_uri) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        cur.executemany("INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
                        [(r[0], k, v) for r in rows for k, v in (("mlflow.runName", r[2]), ("mlflow.user", "bench"))])
        cur.executemany("INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
                        [(r[0], k, v if k != "lr" else str(0.0001 * (i % 100 + 1)))
                         for i, r in enumerate(rows) for k, v in PARAMS.items()])
        cur.execute("COMMIT")
        return run_ids

    run_ids = add_runs(ids[EXPERIMENT], scale.runs, "run")
    long_run = add_runs(ids[LONG_EXPERIMENT], 1, "long")[0]
    cur.execute("CREATE TEMP TABLE seed_keys (key TEXT, k INTEGER)")
    cur.executemany("INSERT INTO seed_keys VALUES (?, ?)", [(metric_key(i), i) for i in range(scale.metrics)])
    cur.execute("CREATE TEMP TABLE seed_runs (run_uuid TEXT, n INTEGER)")
    # A loss-like curve per (run, metric), with noise: values differ between runs, so order_by means something.
    value = "(1.0 + r.n % 97) / (1.0 + s.step * (1 + k.k) / 50.0) + (abs(random()) % 1000) / 100000.0"
    steps_cte = "WITH RECURSIVE s(step) AS (SELECT 0 UNION ALL SELECT step + 1 FROM s WHERE step < ?) "
    t0 = time.perf_counter()
    batch = 100
    for start in range(0, len(run_ids), batch):
        chunk = run_ids[start:start + batch]
        cur.execute("BEGIN")
        cur.execute("DELETE FROM seed_runs")
        cur.executemany("INSERT INTO seed_runs VALUES (?, ?)", [(r, start + i) for i, r in enumerate(chunk)])
        cur.execute(
            steps_cte + "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) "
            f"SELECT r.run_uuid, k.key, {value}, 0, {START_MS} + r.n * 1000 + s.step * {STEP_MS}, s.step "
            "FROM seed_runs r CROSS JOIN seed_keys k CROSS JOIN s ORDER BY r.run_uuid, k.key, s.step",
            (scale.steps - 1,))
        cur.execute(
            "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
            "SELECT m.run_uuid, m.key, m.value, 0, m.timestamp, m.step FROM seed_runs r CROSS JOIN seed_keys k "
            "JOIN metrics m ON m.run_uuid = r.run_uuid AND m.key = k.key AND m.step = ?", (scale.steps - 1,))
        cur.execute("COMMIT")
        done = start + len(chunk)
        if done % 500 == 0 or done == len(run_ids):
            elapsed = time.perf_counter() - t0
            log(f"seeded {done}/{len(run_ids)} runs ({done * scale.metrics * scale.steps:,} points, {elapsed:.0f}s)")
    cur.execute("BEGIN")
    cur.execute(
        steps_cte + "INSERT INTO metrics (run_uuid, key, value, is_nan, timestamp, step) "
        f"SELECT ?, ?, 1.0 / (1.0 + s.step / 1000.0) + (abs(random()) % 1000) / 10000.0, 0, "
        f"{START_MS} + s.step * {STEP_MS}, s.step FROM s",
        (scale.long_points - 1, long_run, LONG_KEY))
    cur.execute(
        "INSERT INTO latest_metrics (run_uuid, key, value, is_nan, timestamp, step) "
        "SELECT run_uuid, key, value, 0, timestamp, step FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?",
        (long_run, LONG_KEY, scale.long_points - 1))
    cur.execute("COMMIT")
    cur.execute("ANALYZE")
    con.close()
    ids["long_run"] = long_run
    return ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", type=Path)
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--metrics", type=int, default=20)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--long-points", type=int, default=100_000)
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(seed(a.path, Scale(a.runs, a.metrics, a.steps, a.long_points)))
    print(f"done in {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
