"""Tracking benchmark (issue 3): MLflow 3 tracking server vs trackflow server, same SQLite backend kind.

    .venv/bin/python benchmarks/bench_tracking.py [--quick] [--only mlflow|trackflow]

Like for like (issue 9): the SAME client, the official MlflowClient from .peers/mlflow, talks to
`mlflow server --workers 1` (MLflow's fastest setting here) and to trackflow's MLflow REST API.
Per server: seed a fresh SQLite store through the system's own embedded client (N runs with
5 params and 5 metrics each), launch the server (time to /health 200, idle RSS/PSS of the
process tree), then one MlflowClient process measures log_batch ingest, log_metric round trips,
search_runs with a metric+param filter and order_by, and get_metric_history of the ingested metric.

Durability: MLflow runs on SQLite's defaults (rollback journal, synchronous=FULL: an fsync per
commit); trackflow is measured with `?synchronous=full` (WAL, an fsync per commit) and with its
default `synchronous=normal` (WAL; commits survive a process crash, not a power loss), labelled.
The client floor: the same client against a server that answers instantly (_null_server.py), so
the best ratio any server could reach through this client. Also `import` wall time.
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
SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"  # as _tracking_worker.py sends it
NULL_SERVER = Path(__file__).resolve().parent / "_null_server.py"
SIDES = {  # side -> (server, SQLite URI option, label)
    "mlflow": ("mlflow", "", "MLflow 3.17.2 (--workers 1; SQLite defaults: rollback journal, synchronous=FULL)"),
    "trackflow": ("trackflow", "?synchronous=full", "trackflow (WAL, synchronous=FULL)"),
    "trackflow-normal": ("trackflow", "", "trackflow default (WAL, synchronous=NORMAL)"),
}
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
    recorded: dict[str, Path] = field(default_factory=dict)  # route -> a response body, for the floor
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
    server_kind, db_option, _ = SIDES[name]
    res = SideResult(name)
    d = WORK / f"tracking-{name}"
    shutil.rmtree(d, ignore_errors=True)
    (d / "artifacts").mkdir(parents=True)
    db = f"sqlite:///{d / 'store.db'}{db_option}"
    if server_kind == "mlflow":
        require(MLFLOW_PY, "MLflow (.peers/mlflow)")
        py = MLFLOW_PY
        port = free_port()
        cmd = [str(MLFLOW_BIN), "server", "--backend-store-uri", db, "--default-artifact-root",
               str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        env = dict(ML_ENV)
        res.notes.append("`mlflow server --workers 1` (its default 4 workers stall ~40 ms per keep-alive request)")
    else:
        require(TF_PY, "trackflow venv")
        require(MLFLOW_PY, "MLflow client (.peers/mlflow)")
        if not TF_BIN.exists():
            raise Unavailable(f"{TF_BIN} missing")
        py = TF_PY
        port = free_port()
        cmd = [str(TF_BIN), "server", "--backend-store-uri", db, "--artifacts-destination",
               str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
        env = {**TF_ENV, "TRACKFLOW_HOME": str(d / "home")}
        res.notes.append(f"`trackflow server --backend-store-uri sqlite:///…{db_option}`")

    # 1. seed the search experiment through the embedded client (no server yet)
    say(f"[{name}] seeding {sizes['runs']} runs (5 params, 5 metrics each) ...")
    seed_info = None
    # MLflow's seeded store is cached (its schema is fixed by the pinned version; seeding 5,000 runs
    # takes minutes); trackflow's is always seeded fresh because its schema is still moving.
    cache = WORK / f"tracking-mlflow-seed-{sizes['runs']}.db"
    try:
        if server_kind == "mlflow" and cache.exists() and cache.with_suffix(".json").exists():
            shutil.copy(cache, d / "store.db")
            seed_info = json.loads(cache.with_suffix(".json").read_text())
            res.seed_via = "embedded client (cached copy)"
        else:
            seed_info = run_json([str(py), str(WORKER), "seed", server_kind, db, str(sizes["runs"])],
                                 timeout=3600, env=env, cwd=d)
            res.seed_via = "embedded client"
            if server_kind == "mlflow":
                shutil.copy(d / "store.db", cache)
                cache.with_suffix(".json").write_text(json.dumps(seed_info))
    except Unavailable as exc:
        if server_kind == "mlflow":
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
            seed_info = run_json([str(MLFLOW_PY), str(WORKER), "seed", "mlflow", url, str(sizes["runs"])],
                                 timeout=3600, env=ML_ENV, cwd=d)
            res.seed_via = "server"
        res.seed_s = seed_info["seconds"]
        say(f"[{name}] seeded in {res.seed_s:.1f} s; measuring with the official MlflowClient ...")
        out = run_json([str(MLFLOW_PY), str(WORKER), "measure", "mlflow", url, str(seed_info["experiment_id"]),
                        str(sizes["batches"]), str(sizes["batch"]), str(sizes["roundtrips"]),
                        str(sizes["reps"])], timeout=3600, env=ML_ENV, cwd=d)
        res.recorded = record_bodies(url, d, str(seed_info["experiment_id"]), out["ingest_run_id"])
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


def record_bodies(url: str, d: Path, search_exp: str, run_id: str) -> dict[str, Path]:
    """The server's answers to the search and history the client made, for the null server to replay."""
    import requests

    api = "/api/2.0/mlflow"
    search = requests.post(f"{url}{api}/runs/search", timeout=600, json={
        "experiment_ids": [search_exp], "filter": SEARCH_FILTER, "run_view_type": "ACTIVE_ONLY",
        "max_results": 1000, "order_by": ["metrics.m1 DESC"]})
    history = requests.get(f"{url}{api}/metrics/get-history", params={"run_id": run_id, "metric_key": "loss"},
                           timeout=600)
    out = {}
    for route, resp in ((f"{api}/runs/search", search), (f"{api}/metrics/get-history", history)):
        resp.raise_for_status()
        path = d / (route.rsplit("/", 1)[-1] + ".json")
        path.write_bytes(resp.content)
        out[route] = path
    return out


@dataclass
class Floor:
    ingest: Stat = field(default_factory=Stat)  # seconds per batch
    roundtrip: Stat = field(default_factory=Stat)
    search: Stat = field(default_factory=Stat)
    history: Stat = field(default_factory=Stat)
    error: str | None = None


def run_floor(sizes: dict[str, int], recorded: dict[str, Path]) -> Floor:
    """The official client against _null_server.py: its own cost per call (search and history
    parse the bodies trackflow answered)."""
    d = WORK / "tracking-floor"
    d.mkdir(parents=True, exist_ok=True)
    port = free_port()
    replays = [f"{route}={path}" for route, path in recorded.items()]
    svc = Service("null server", [sys.executable, str(NULL_SERVER), str(port), *replays], d / "null.log", cwd=d).start()
    try:
        svc.wait_ready(f"http://127.0.0.1:{port}/health", timeout=30)
        out = run_json([str(MLFLOW_PY), str(WORKER), "floor", "mlflow", f"http://127.0.0.1:{port}",
                        str(min(sizes["batches"], 30)), str(sizes["batch"]), str(sizes["roundtrips"]),
                        str(sizes["reps"])],
                       timeout=600, env=ML_ENV, cwd=d)
    finally:
        svc.stop()
    floor = Floor(Stat(out["ingest_batch_s"]), Stat(out["roundtrip_s"]))
    if recorded:
        floor.search, floor.history = Stat(out["search_s"]), Stat(out["history_s"])
    return floor


def report(results: dict[str, SideResult], floor: Floor, sizes: dict[str, int], quick: bool) -> str:
    ml, tf, tfn = results["mlflow"], results["trackflow"], results["trackflow-normal"]

    def ok(r: SideResult) -> bool:
        return r.error is None

    def col(r: SideResult, text: str) -> str:
        return text if ok(r) else "n/a"

    def rr(side: SideResult, a: float | None, b: float | None, hib: bool = False) -> float | None:
        return ratio(a, b, hib) if ok(ml) and ok(side) else None

    def best(ml_value: float | None, floor_value: float | None) -> str:
        """The ratio a server answering in zero time would reach through this client."""
        return fmt_ratio(ratio(ml_value, floor_value)) if ok(ml) and floor.error is None else "n/a"

    batch_s = [sizes["batch"] / x for x in floor.ingest.values] if floor.ingest.values else []
    rows = []
    r = rr(tf, ml.ingest_rate.median, tf.ingest_rate.median, True)
    rows.append([f"log_batch ingest, metrics/s (batches of {sizes['batch']}, per-batch median and range)",
                 col(ml, fmt_stat(ml.ingest_rate, "")), col(tf, fmt_stat(tf.ingest_rate, "")),
                 fmt_ratio(r), ">= 10x", verdict(r, 10),
                 col(tfn, fmt_stat(tfn.ingest_rate, "")),
                 fmt_ratio(rr(tfn, ml.ingest_rate.median, tfn.ingest_rate.median, True)),
                 fmt_stat(Stat(batch_s), "") if batch_s else "n/a",
                 best(1 / ml.ingest_rate.median if ml.ingest_rate.values else None,
                      1 / Stat(batch_s).median if batch_s else None)])
    r = rr(tf, ml.ingest_total_rate, tf.ingest_total_rate, True)
    rows.append([f"log_batch ingest, metrics/s over all {sizes['batches'] * sizes['batch']:,} points",
                 col(ml, fmt_num(ml.ingest_total_rate)), col(tf, fmt_num(tf.ingest_total_rate)),
                 fmt_ratio(r), "", "", col(tfn, fmt_num(tfn.ingest_total_rate)),
                 fmt_ratio(rr(tfn, ml.ingest_total_rate, tfn.ingest_total_rate, True)), "", ""])
    r = rr(tf, ml.roundtrip.median, tf.roundtrip.median)
    rows.append([f"log_metric round trip p50 ({sizes['roundtrips']} calls; range)",
                 col(ml, fmt_stat(ml.roundtrip)), col(tf, fmt_stat(tf.roundtrip)),
                 fmt_ratio(r), "p50 <= 1/3 (>= 3x)", verdict(r, 3),
                 col(tfn, fmt_stat(tfn.roundtrip)), fmt_ratio(rr(tfn, ml.roundtrip.median, tfn.roundtrip.median)),
                 fmt_stat(floor.roundtrip) if floor.roundtrip.values else "n/a",
                 best(ml.roundtrip.median if ml.roundtrip.values else None,
                      floor.roundtrip.median if floor.roundtrip.values else None)])
    r = rr(tf, ml.search.median, tf.search.median)
    cnt = f"; {ml.search_count or '?'} / {tf.search_count or '?'} runs returned"
    rows.append([f"search_runs over {sizes['runs']:,} runs, metric+param filter, order_by ({sizes['reps']} reps{cnt})",
                 col(ml, fmt_stat(ml.search)), col(tf, fmt_stat(tf.search)),
                 fmt_ratio(r), ">= 10x", verdict(r, 10),
                 col(tfn, fmt_stat(tfn.search)), fmt_ratio(rr(tfn, ml.search.median, tfn.search.median)),
                 fmt_stat(floor.search) if floor.search.values else "n/a",
                 best(ml.search.median if ml.search.values else None,
                      floor.search.median if floor.search.values else None)])
    r = rr(tf, ml.history.median, tf.history.median)
    pts = sizes["batches"] * sizes["batch"]
    rows.append([f"get_metric_history of a {pts:,}-point metric ({sizes['reps']} reps)",
                 col(ml, fmt_stat(ml.history)), col(tf, fmt_stat(tf.history)),
                 fmt_ratio(r), ">= 5x", verdict(r, 5),
                 col(tfn, fmt_stat(tfn.history)), fmt_ratio(rr(tfn, ml.history.median, tfn.history.median)),
                 fmt_stat(floor.history) if floor.history.values else "n/a",
                 best(ml.history.median if ml.history.values else None,
                      floor.history.median if floor.history.values else None)])
    imp_tf = tf.import_s.median if tf.import_s else None
    rows.append(["`import <package>` wall time minus bare interpreter (5 fresh interpreters)",
                 fmt_stat(ml.import_s), fmt_stat(tf.import_s),
                 fmt_ratio(ratio(ml.import_s.median if ml.import_s else None, imp_tf)),
                 "trackflow <= 150 ms", at_most(imp_tf, 0.150), "", "", "", ""])
    rows.append(["server launch to /health 200",
                 col(ml, fmt_num(ml.health_s, "s")), col(tf, fmt_num(tf.health_s, "s")),
                 fmt_ratio(rr(tf, ml.health_s, tf.health_s)), "trackflow <= 1.5 s",
                 at_most(tf.health_s if ok(tf) else None, 1.5), col(tfn, fmt_num(tfn.health_s, "s")), "", "", ""])
    rows.append([f"idle server RSS {sizes['settle']} s after /health, whole process tree (PSS; processes)",
                 col(ml, f"{fmt_num(ml.idle_rss, 'MB')} ({fmt_num(ml.idle_pss, 'MB')}; {ml.idle_procs})"),
                 col(tf, f"{fmt_num(tf.idle_rss, 'MB')} ({fmt_num(tf.idle_pss, 'MB')}; {tf.idle_procs})"),
                 fmt_ratio(rr(tf, ml.idle_rss, tf.idle_rss)), "trackflow <= 150 MB",
                 at_most(tf.idle_rss if ok(tf) else None, 150), "", "", "", ""])
    header = ["measure", SIDES["mlflow"][2], SIDES["trackflow"][2], "ratio (trackflow better by)", "target",
              "verdict", SIDES["trackflow-normal"][2], "ratio", "client floor (null server)",
              "best ratio reachable through this client"]
    lines = [
        "Compared like for like (issue 9): the official `MlflowClient` (MLflow 3.17.2, .peers/mlflow), one client "
        "process, against `mlflow server --workers 1` and against trackflow's MLflow REST API (`trackflow server`), "
        "each on a fresh SQLite file. The client floor is the same client against a server that answers instantly "
        "(search and history: replaying trackflow's recorded answers, so the client parses the same bodies); "
        "`MLflow / floor` is the ratio a zero-time server would reach.",
        "",
        table(header, rows),
        "",
    ]
    for r_ in (ml, tf, tfn):
        if r_.error:
            lines.append(f"- {r_.name}: not available ({r_.error})")
        else:
            lines.append(f"- {r_.name}: seeded {sizes['runs']:,} runs in {fmt_num(r_.seed_s, 's')} "
                         f"via {r_.seed_via}; " + "; ".join(r_.notes))
    if floor.error:
        lines.append(f"- client floor: not available ({floor.error})")
    if ml.search_count and tf.search_count and ml.search_count != tf.search_count:
        lines.append(f"- WARNING: search returned {ml.search_count} runs on MLflow but {tf.search_count} on trackflow")
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
    for name in SIDES:
        if a.only and not name.startswith(a.only):
            results[name] = SideResult(name, error="skipped (--only)")
            continue
        imp: Stat | None = None
        try:
            if name != "trackflow-normal":  # the same package as "trackflow"
                imp = import_time(MLFLOW_PY if name == "mlflow" else TF_PY, SIDES[name][0])
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
    try:
        floor = run_floor(sizes, results["trackflow"].recorded or results["trackflow-normal"].recorded)
    except Exception as exc:  # the floor only annotates; it never hides the measured figures
        floor = Floor(error=f"{type(exc).__name__}: {str(exc)[:300]}")
    text = report(results, floor, sizes, a.quick)
    say("\n" + text)
    if not a.only:
        write_section("tracking", "Tracking (issue 3): MLflow 3 server vs trackflow server", text, a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
