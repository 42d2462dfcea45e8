"""Serving benchmark (issue 4): `mlflow models serve --env-manager local` vs `trackflow models serve`
on the same sklearn iris model, saved with MLflow's sklearn flavor (trackflow loads it unchanged).

    .venv/bin/python benchmarks/bench_serving.py [--quick] [--only mlflow|trackflow] [--workers 1 2]

Per system and worker count: time from launch to /ping 200, single-row /invocations latency
(sequential, one keep-alive connection) and throughput (2 load-generator processes x 4 keep-alive
connections, closed loop). Both servers get the same --workers.
"""

from __future__ import annotations

import argparse
import http.client
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
    TF_PY,
    TF_VENV,
    WORK,
    Service,
    Stat,
    Unavailable,
    at_most,
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
    trackflow_command,
    tree_cpu_percent,
    tree_memory,
    venv_env,
    verdict,
    write_section,
)

HERE = Path(__file__).resolve().parent
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "ignore"}
ML_ENV = venv_env(MLFLOW_VENV, **QUIET_ENV)
TF_ENV = venv_env(TF_VENV, **QUIET_ENV)
LOADGEN_PROCS = 2
LOADGEN_THREADS = 4


@dataclass
class Measure:
    ping_s: float | None = None
    latency: Stat = field(default_factory=Stat)
    latency_fresh: Stat = field(default_factory=Stat)
    throughput: Stat = field(default_factory=Stat)  # req/s per repetition
    errors: int = 0
    rss: float | None = None
    prediction: object = None


@dataclass
class SideResult:
    name: str
    error: str | None = None
    by_workers: dict[int, Measure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def settle(pid: int, max_wait: float = 30.0) -> None:
    """Wait until the server's process tree is quiet (< 15 % of a core over 0.5 s)."""
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline and tree_cpu_percent(pid, 0.5) >= 15:
        pass


def sequential_latency(port: int, body: bytes, n: int, warmup: int = 30) -> tuple[Stat, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    lat = []
    answer: object = None
    for i in range(warmup + n):
        t0 = time.perf_counter()
        conn.request("POST", "/invocations", body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        dt = time.perf_counter() - t0
        if r.status != 200:
            raise Unavailable(f"/invocations answered {r.status}: {data[:300]!r}")
        if i >= warmup:
            lat.append(dt)
        else:
            answer = json.loads(data)
    conn.close()
    return Stat(lat), answer


def fresh_connection_latency(port: int, body: bytes, n: int) -> Stat:
    """Latency with a new TCP connection per request (what a client without keep-alive sees)."""
    headers = {"Content-Type": "application/json"}
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/invocations", body=body, headers=headers)
        r = conn.getresponse()
        r.read()
        conn.close()
        lat.append(time.perf_counter() - t0)
    return Stat(lat)


def throughput(port: int, body_file: Path, duration: float) -> tuple[float, int]:
    import subprocess

    procs = [subprocess.Popen([str(TF_PY), str(HERE / "_loadgen.py"), "127.0.0.1", str(port), "/invocations",
                               str(body_file), str(duration), str(LOADGEN_THREADS)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(LOADGEN_PROCS)]
    ok = errors = 0
    elapsed = 0.0
    for p in procs:
        out, err = p.communicate(timeout=duration + 120)
        if p.returncode != 0:
            raise Unavailable(f"load generator failed: {err[-300:]}")
        d = json.loads(out.strip().splitlines()[-1])
        ok += d["ok"]
        errors += d["errors"]
        elapsed = max(elapsed, d["elapsed"])
    return ok / elapsed, errors


def run_side(name: str, model_dir: Path, body_file: Path, workers_list: list[int], sizes: dict) -> SideResult:
    res = SideResult(name)
    tf_prefix: list[str] = []
    if name == "trackflow":
        tf_prefix, note = trackflow_command("models", "serve", fallbacks=["trackflow.cli.models:models"])
        if note:
            res.notes.append(note)
    body = body_file.read_bytes()
    for workers in workers_list:
        port = free_port()
        d = WORK / f"serving-{name}-w{workers}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        if name == "mlflow":
            cmd = [str(MLFLOW_BIN), "models", "serve", "-m", str(model_dir), "--env-manager", "local",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
            env = dict(ML_ENV)
        else:
            cmd = [*tf_prefix, "serve", "-m", str(model_dir), "--host", "127.0.0.1",
                   "--port", str(port), "--workers", str(workers)]
            env = {**TF_ENV, "TRACKFLOW_HOME": str(d / "home")}
        m = Measure()
        svc = Service(f"{name} models serve", cmd, d / "server.log", env=env, cwd=d).start()
        try:
            m.ping_s = svc.wait_ready(f"http://127.0.0.1:{port}/ping", timeout=180)
            say(f"[{name} w={workers}] /ping 200 after {m.ping_s:.2f} s")
            settle(svc.pid)  # let every worker finish starting before measuring
            m.latency, m.prediction = sequential_latency(port, body, sizes["latency_n"])
            m.latency_fresh = fresh_connection_latency(port, body, max(50, sizes["latency_n"] // 4))
            say(f"[{name} w={workers}] single-row p50 {m.latency.median * 1e3:.2f} ms keep-alive, "
                f"{m.latency_fresh.median * 1e3:.2f} ms new connection each")
            for _ in range(sizes["tp_reps"]):
                rps, errs = throughput(port, body_file, sizes["tp_seconds"])
                m.throughput.values.append(rps)
                m.errors += errs
            say(f"[{name} w={workers}] throughput {m.throughput.median:.0f} req/s (errors {m.errors})")
            m.rss = tree_memory(svc.pid)[0]
        finally:
            svc.stop()
        res.by_workers[workers] = m
    return res


def report(ml: SideResult, tf: SideResult, workers_list: list[int], sizes: dict, expected: object) -> str:
    rows = []
    for w in workers_list:
        a = ml.by_workers.get(w)
        b = tf.by_workers.get(w)

        def g(m: Measure | None, attr: str, unit: str = "s") -> str:
            return "n/a" if m is None else fmt_stat(getattr(m, attr), unit)

        r = ratio(a.latency.median, b.latency.median) if a and b else None
        rows.append([f"single-row /invocations latency p50, {w} worker(s) ({sizes['latency_n']} sequential "
                     "requests on one keep-alive connection; range)", g(a, "latency"), g(b, "latency"), fmt_ratio(r),
                     "p50 <= 1/3 (>= 3x)",
                     verdict(r, 3)])
        rows.append([f"single-row latency p50, {w} worker(s), new TCP connection per request (range)",
                     g(a, "latency_fresh"), g(b, "latency_fresh"),
                     fmt_ratio(ratio(a.latency_fresh.median, b.latency_fresh.median) if a and b else None),
                     "", ""])
        p99a = fmt_num(a.latency.pct(99), "s") if a else "n/a"
        p99b = fmt_num(b.latency.pct(99), "s") if b else "n/a"
        rows.append([f"single-row latency p99, {w} worker(s)", p99a, p99b, "", "", ""])
        r = ratio(a.throughput.median, b.throughput.median, True) if a and b else None
        rows.append([f"throughput req/s, {w} worker(s) ({LOADGEN_PROCS}x{LOADGEN_THREADS} keep-alive clients, "
                     f"{sizes['tp_seconds']:.0f} s x {sizes['tp_reps']})",
                     g(a, "throughput", ""), g(b, "throughput", ""), fmt_ratio(r), ">= 3x", verdict(r, 3)])
        r = ratio(a.ping_s, b.ping_s) if a and b else None
        rows.append([f"launch to /ping 200, {w} worker(s)", fmt_num(a.ping_s, "s") if a else "n/a",
                     fmt_num(b.ping_s, "s") if b else "n/a", fmt_ratio(r), "trackflow <= 2 s",
                     at_most(b.ping_s if b else None, 2.0)])
        rows.append([f"server RSS after load, {w} worker(s) (whole tree)", fmt_num(a.rss, "MB") if a else "n/a",
                     fmt_num(b.rss, "MB") if b else "n/a", fmt_ratio(ratio(a.rss, b.rss) if a and b else None),
                     "", ""])
    lines = [
        "Compared: `mlflow models serve --env-manager local` (MLflow 3.17.2, .peers/mlflow) vs "
        "`trackflow models serve`, both serving the same sklearn LogisticRegression iris model saved by "
        "`mlflow.sklearn.save_model`; payload `dataframe_split` with one row; same `--workers`.",
        "",
        table(["measure", "MLflow 3.17.2", "trackflow", "ratio (trackflow better by)", "target", "verdict"], rows),
        "",
    ]
    for r_ in (ml, tf):
        if r_.error:
            lines.append(f"- {r_.name}: not available ({r_.error})")
        else:
            errs = sum(m.errors for m in r_.by_workers.values())
            preds = {json.dumps(m.prediction, sort_keys=True) for m in r_.by_workers.values()}
            lines.append(f"- {r_.name}: answer {', '.join(preds)}; non-200 answers under load: {errs}"
                         + "".join(f"; {n}" for n in r_.notes))
    for w_, m in ml.by_workers.items():
        if m.latency.values and m.latency_fresh.values and m.latency.median > 5 * m.latency_fresh.median:
            lines.append(f"- MLflow with {w_} workers answers a keep-alive client ~{m.latency.median * 1e3:.0f} ms "
                         "late per request (a ~40 ms delayed-ACK stall), though a new connection per request "
                         f"takes {m.latency_fresh.median * 1e3:.1f} ms: both rows are shown.")
    lines.append(f"- expected prediction (sklearn in-process): {expected}; the load generator runs on the same "
                 "2 cores as the server.")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--only", choices=["mlflow", "trackflow"], help="measure one side only (no RESULTS.md)")
    ap.add_argument("--workers", type=int, nargs="+", help="worker counts to compare (default: 1 2; quick: 1)")
    ap.add_argument("--serialization", default="default",
                    choices=["default", "cloudpickle", "pickle", "skops"],
                    help="sklearn serialization format for mlflow.sklearn.save_model (default: MLflow's own)")
    a = ap.parse_args()
    cleanup_on_sigterm()
    sizes = (dict(latency_n=200, tp_seconds=3.0, tp_reps=1) if a.quick
             else dict(latency_n=1000, tp_seconds=10.0, tp_reps=3))
    workers_list = a.workers or ([1] if a.quick else [1, 2])

    def build(fmt: str) -> dict:
        d = WORK / f"serving-model-{fmt}"
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        info = run_json([str(MLFLOW_PY), str(HERE / "_serving_model.py"), str(d / "iris"), fmt],
                        timeout=600, env=ML_ENV)
        body_file = d / "payload.json"
        body_file.write_text(json.dumps(info["payload"]))
        info["body_file"] = str(body_file)
        return info

    def measure_both(info: dict) -> dict[str, SideResult]:
        results: dict[str, SideResult] = {}
        for name in ("trackflow", "mlflow"):  # trackflow first: its failure decides a re-run
            if a.only and a.only != name:
                results[name] = SideResult(name, error="skipped (--only)")
                continue
            try:
                results[name] = run_side(name, Path(info["path"]), Path(info["body_file"]), workers_list, sizes)
            except Unavailable as exc:
                say(f"{name}: not available ({exc})")
                results[name] = SideResult(name, error=str(exc)[:500])
            except Exception as exc:  # a half-written side must not kill the other's figures
                say(f"{name}: not available ({type(exc).__name__}: {exc})")
                results[name] = SideResult(name, error=f"{type(exc).__name__}: {str(exc)[:400]}")
            if name == "trackflow" and a.serialization == "default" and results[name].error \
                    and "skops" in results[name].error and info["serialization_format"] == "skops":
                return results  # caller re-runs both on a cloudpickle model
        return results

    try:
        require(MLFLOW_PY, "MLflow (.peers/mlflow)")
        info = build(a.serialization)
    except Unavailable as exc:
        say(f"cannot build the model: {exc}")
        return 1
    results = measure_both(info)
    fallback = ""
    if "mlflow" not in results:
        fallback = (f"trackflow could not load MLflow's default `skops` model ({results['trackflow'].error[:300]}); "
                    "both sides were then measured on the same model saved with `serialization_format="
                    "'cloudpickle'`.")
        say(f"\n{fallback}\n")
        info = build("cloudpickle")
        results = measure_both(info)
    text = report(results["mlflow"], results["trackflow"], workers_list, sizes, info["expected"])
    text += (f"\n- model saved with MLflow's sklearn flavor, serialization_format "
             f"`{info['serialization_format']}` ("
             + ("fallback from MLflow's default skops" if fallback
                else "MLflow default" if a.serialization == "default" else "forced") + ").")
    if fallback:
        text += f"\n- WARNING: {fallback}"
    say("\n" + text)
    if not a.only:
        write_section("serving", "Serving (issue 4): mlflow models serve vs trackflow models serve", text, a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
