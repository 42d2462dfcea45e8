"""Tracking benchmark (issue 3): MLflow 3 tracking server vs trackflow server, same SQLite backend kind.

    .venv/bin/python benchmarks/bench_tracking.py [--quick] [--only mlflow|trackflow]

Per system: seed a fresh SQLite store through the system's own embedded client (N runs with
5 params and 5 metrics each), launch the server (time to /health 200, idle RSS/PSS of the
process tree), then one client process (MLflow: the official MlflowClient from .peers/mlflow;
trackflow: trackflow.Client) measures log_batch ingest, log_metric round trips, search_runs
with a metric+param filter and order_by, and get_metric_history of the ingested metric.
Also `import trackflow` / `import mlflow` wall time in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    MLFLOW_BIN,
    MLFLOW_PY,
    MLFLOW_VENV,
    TF_BIN,
    TF_PY,
    TF_VENV,
    WORK,
    Service,
    Stat,
    Unavailable,
    at_most,  # noqa: E402
    cleanup_on_sigterm,
    fmt_num,
    fmt_ratio,
    fmt_stat,
    free_port,
    ratio,
    require,
    run_json,
    say,
    table,
    timed_cmd,
    tree_cpu_percent,
    tree_memory,
    venv_env,
    verdict,
    write_section,
)

WORKER = Path(__file__).resolve().parent / "_tracking_worker.py"
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"}
ML_ENV = venv_env(MLFLOW_VENV, **QUIET_ENV)
TF_ENV = venv_env(TF_VENV, **QUIET_ENV)


@dataclass
class SideResult:
    name: str
    error: str | None = None
    seed_s: float | None = None
    seed_via: str = ""
    health_s: float | None = None
    idle_rss: float | None = None
    idle_pss: float | None = None
    idle_procs: int | None = None
    idle_cpu: float | None = None
    import_s: Stat | None = None
    ingest_rate: Stat = field(default_factory=Stat)  # metrics/s per batch
    ingest_total_rate: float | None = None
    roundtrip: Stat = field(default_factory=Stat)
    search: Stat = field(default_factory=Stat)
    history: Stat = field(default_factory=Stat)
    search_count: list[int] = field(default_factory=list)
    history_count: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def import_time(py: Path, module: str, reps: int = 5) -> Stat:
    """Wall time of `python -c "import M"` minus `python -c pass`, each the median of `reps`."""
    def med(code: str) -> float:
        ts = []
        for _ in range(reps):
            dt, p = timed_cmd([str(py), "-c", code], timeout=120, env=QUIET_ENV)
            if p.returncode != 0:
                raise Unavailable(f"`{code}` failed: {p.stderr.strip()[-300:]}")
            ts.append(dt)
        return Stat(ts).median

    timed_cmd([str(py), "-c", f"import {module}"], timeout=120, env=QUIET_ENV)  # warm the page cache
    base = med("pass")
    vals = []
    for _ in range(reps):
        dt, p = timed_cmd([str(py), "-c", f"import {module}"], timeout=120, env=QUIET_ENV)
        if p.returncode != 0:
            raise Unavailable(f"`import {module}` failed: {p.stderr.strip()[-300:]}")
        vals.append(max(0.0, dt - base))
    return Stat(vals)


def run_side(name: str, sizes: dict[str, int]) -> SideResult:
    res = SideResult(name)
    d = WORK / f"tracking-{name}"
    shutil.rmtree(d, ignore_errors=True)
    (d / "artifacts").mkdir(parents=True)
    db = f"sqlite:///{d / 'store.db'}"
    if name == "mlflow":
        require(MLFLOW_PY, "MLflow (.peers/mlflow)")
        py = MLFLOW_PY
        port = free_port()
        cmd = [str(MLFLOW_BIN), "server", "--backend-store-uri", db, "--default-artifact-root",
               str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
        env = dict(ML_ENV)
        res.notes.append("`mlflow server` defaults (uvicorn, 4 workers)")
    else:
        require(TF_PY, "trackflow venv")
        if not TF_BIN.exists():
            raise Unavailable(f"{TF_BIN} missing")
        py = TF_PY
        port = free_port()
        cmd = [str(TF_BIN), "server", "--backend-store-uri", db, "--artifacts-destination",
               str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
        env = {**TF_ENV, "TRACKFLOW_HOME": str(d / "home")}
        res.notes.append("`trackflow server` defaults")

    # 1. seed the search experiment through the embedded client (no server yet)
    say(f"[{name}] seeding {sizes['runs']} runs (5 params, 5 metrics each) ...")
    seed_info = None
    # MLflow's seeded store is cached (its schema is fixed by the pinned version; seeding 5,000 runs
    # takes minutes); trackflow's is always seeded fresh because its schema is still moving.
    cache = WORK / f"tracking-mlflow-seed-{sizes['runs']}.db"
    try:
        if name == "mlflow" and cache.exists() and cache.with_suffix(".json").exists():
            shutil.copy(cache, d / "store.db")
            seed_info = json.loads(cache.with_suffix(".json").read_text())
            res.seed_via = "embedded client (cached copy)"
        else:
            seed_info = run_json([str(py), str(WORKER), "seed", name, db, str(sizes["runs"])],
                                 timeout=3600, env=env, cwd=d)
            res.seed_via = "embedded client"
            if name == "mlflow":
                shutil.copy(d / "store.db", cache)
                cache.with_suffix(".json").write_text(json.dumps(seed_info))
    except Unavailable as exc:
        if name == "mlflow":
            raise
        res.notes.append(f"embedded seeding failed ({str(exc)[:160]}); seeded through the server")

    url = f"http://127.0.0.1:{port}"
    svc = Service(f"{name} server", cmd, d / "server.log", env=env, cwd=d).start()
    try:
        res.health_s = svc.wait_ready(f"{url}/health", timeout=120)
        say(f"[{name}] /health 200 after {res.health_s:.2f} s")
        time.sleep(sizes["settle"])  # idle: let start-up work (workers, migrations) finish
        res.idle_rss, res.idle_pss, res.idle_procs = tree_memory(svc.pid)
        res.idle_cpu = tree_cpu_percent(svc.pid, 5)
        if seed_info is None:
            seed_info = run_json([str(py), str(WORKER), "seed", name, url, str(sizes["runs"])],
                                 timeout=3600, env=env, cwd=d)
            res.seed_via = "server"
        res.seed_s = seed_info["seconds"]
        say(f"[{name}] seeded in {res.seed_s:.1f} s; measuring ...")
        out = run_json([str(py), str(WORKER), "measure", name, url, str(seed_info["experiment_id"]),
                        str(sizes["batches"]), str(sizes["batch"]), str(sizes["roundtrips"]),
                        str(sizes["reps"])], timeout=3600, env=env, cwd=d)
    finally:
        svc.stop()
    res.ingest_rate = Stat([sizes["batch"] / t for t in out["ingest_batch_s"]])
    res.ingest_total_rate = out["ingest_points"] / out["ingest_total_s"]
    res.roundtrip = Stat(out["roundtrip_s"])
    res.search = Stat(out["search_s"])
    res.history = Stat(out["history_s"])
    res.search_count = out["search_count"]
    res.history_count = out["history_count"]
    say(f"[{name}] {out['summary']}")
    return res


def report(ml: SideResult, tf: SideResult, sizes: dict[str, int], quick: bool) -> str:
    def ok(r: SideResult) -> bool:
        return r.error is None

    def col(r: SideResult, text: str) -> str:
        return text if ok(r) else "n/a"

    def rr(a: float | None, b: float | None, hib: bool = False) -> float | None:
        return ratio(a, b, hib) if ok(ml) and ok(tf) else None

    rows = []
    r = rr(ml.ingest_rate.median, tf.ingest_rate.median, True)
    rows.append([f"log_batch ingest, metrics/s (batches of {sizes['batch']}, per-batch median and range)",
                 col(ml, fmt_stat(ml.ingest_rate, "")), col(tf, fmt_stat(tf.ingest_rate, "")),
                 fmt_ratio(r), ">= 10x", verdict(r, 10)])
    r = rr(ml.ingest_total_rate, tf.ingest_total_rate, True)
    rows.append([f"log_batch ingest, metrics/s over all {sizes['batches'] * sizes['batch']:,} points",
                 col(ml, fmt_num(ml.ingest_total_rate)), col(tf, fmt_num(tf.ingest_total_rate)),
                 fmt_ratio(r), "", ""])
    r = rr(ml.roundtrip.median, tf.roundtrip.median)
    rows.append([f"log_metric round trip p50, remote client ({sizes['roundtrips']} calls; range)",
                 col(ml, fmt_stat(ml.roundtrip)), col(tf, fmt_stat(tf.roundtrip)),
                 fmt_ratio(r), "p50 <= 1/3 (>= 3x)", verdict(r, 3)])
    r = rr(ml.search.median, tf.search.median)
    cnt = (f"; {ml.search_count or '?'} / {tf.search_count or '?'} runs returned")
    rows.append([f"search_runs over {sizes['runs']:,} runs, metric+param filter, order_by "
                 f"({sizes['reps']} reps{cnt})",
                 col(ml, fmt_stat(ml.search)), col(tf, fmt_stat(tf.search)),
                 fmt_ratio(r), ">= 10x", verdict(r, 10)])
    r = rr(ml.history.median, tf.history.median)
    pts = sizes["batches"] * sizes["batch"]
    rows.append([f"get_metric_history of a {pts:,}-point metric ({sizes['reps']} reps)",
                 col(ml, fmt_stat(ml.history)), col(tf, fmt_stat(tf.history)),
                 fmt_ratio(r), ">= 5x", verdict(r, 5)])
    imp_tf = tf.import_s.median if tf.import_s else None
    rows.append(["`import <package>` wall time minus bare interpreter (5 fresh interpreters)",
                 fmt_stat(ml.import_s), fmt_stat(tf.import_s),
                 fmt_ratio(ratio(ml.import_s.median if ml.import_s else None, imp_tf)),
                 "trackflow <= 150 ms", at_most(imp_tf, 0.150)])
    rows.append(["server launch to /health 200",
                 col(ml, fmt_num(ml.health_s, "s")), col(tf, fmt_num(tf.health_s, "s")),
                 fmt_ratio(rr(ml.health_s, tf.health_s)), "trackflow <= 1.5 s",
                 at_most(tf.health_s if ok(tf) else None, 1.5)])
    rows.append([f"idle server RSS {sizes['settle']} s after /health, whole process tree (PSS; processes)",
                 col(ml, f"{fmt_num(ml.idle_rss, 'MB')} ({fmt_num(ml.idle_pss, 'MB')}; {ml.idle_procs})"),
                 col(tf, f"{fmt_num(tf.idle_rss, 'MB')} ({fmt_num(tf.idle_pss, 'MB')}; {tf.idle_procs})"),
                 fmt_ratio(rr(ml.idle_rss, tf.idle_rss)), "trackflow <= 150 MB",
                 at_most(tf.idle_rss if ok(tf) else None, 150)])
    rows.append(["idle server CPU over 5 s (% of one core)",
                 col(ml, f"{ml.idle_cpu:.1f} %" if ml.idle_cpu is not None else "n/a"),
                 col(tf, f"{tf.idle_cpu:.1f} %" if tf.idle_cpu is not None else "n/a"), "", "", ""])
    header = ["measure", "MLflow 3.17.2", "trackflow", "ratio (trackflow better by)", "target", "verdict"]
    body = table(header, rows)
    lines = [
        "Compared: `mlflow server` (.peers/mlflow, official `MlflowClient`) vs `trackflow server` "
        "(`trackflow.Client`), each on a fresh SQLite file; each client runs in its own process.",
        "",
        body,
        "",
    ]
    for r_ in (ml, tf):
        if r_.error:
            lines.append(f"- {r_.name}: not available ({r_.error})")
        else:
            lines.append(f"- {r_.name}: seeded {sizes['runs']:,} runs in {fmt_num(r_.seed_s, 's')} "
                         f"via {r_.seed_via}; " + "; ".join(r_.notes))
    if ml.search_count and tf.search_count and ml.search_count != tf.search_count:
        lines.append(f"- WARNING: search returned {ml.search_count} runs on MLflow but "
                     f"{tf.search_count} on trackflow")
    if tf.history_count and tf.history_count != [pts]:
        lines.append(f"- WARNING: trackflow history returned {tf.history_count} points, expected {pts}")
    lines.append("- filter `metrics.m0 > 0.5 and params.p0 = 'a'`, order_by `metrics.m1 DESC`, "
                 f"max_results 1000; {'quick sizes' if quick else 'full sizes'}.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--only", choices=["mlflow", "trackflow"], help="measure one side only (no RESULTS.md)")
    a = ap.parse_args()
    cleanup_on_sigterm()
    sizes = (dict(runs=300, batches=5, batch=1000, roundtrips=50, reps=3, settle=3) if a.quick
             else dict(runs=5000, batches=100, batch=1000, roundtrips=300, reps=7, settle=10))
    results: dict[str, SideResult] = {}
    for name in ("mlflow", "trackflow"):
        if a.only and a.only != name:
            results[name] = SideResult(name, error="skipped (--only)")
            continue
        imp: Stat | None = None
        try:
            imp = import_time(MLFLOW_PY if name == "mlflow" else TF_PY, name)
        except (Unavailable, OSError) as exc:
            say(f"{name}: import timing not available ({exc})")
        try:
            results[name] = run_side(name, sizes)
        except Unavailable as exc:
            say(f"{name}: not available ({exc})")
            results[name] = SideResult(name, error=str(exc)[:500])
        except Exception as exc:  # a half-written side must not kill the other's figures
            say(f"{name}: not available ({type(exc).__name__}: {exc})")
            results[name] = SideResult(name, error=f"{type(exc).__name__}: {str(exc)[:400]}")
        results[name].import_s = imp
    text = report(results["mlflow"], results["trackflow"], sizes, a.quick)
    say("\n" + text)
    if not a.only:
        write_section("tracking", "Tracking (issue 3): MLflow 3 server vs trackflow server", text, a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
