"""Trace benchmark (issue 13): one 50,000-span trace in MLflow 3's server and in trackflow's.

    .venv/bin/python benchmarks/bench_traces.py [--quick] [--only mlflow|trackflow]

Like for like: both servers (SQLite, `mlflow server --workers 1`) get the same OTLP/HTTP
protobuf payloads at POST /v1/traces (MLflow's client and OpenTelemetry exporters both use it),
in batches of 5,000 spans, then answer MLflow's GetTrace (all spans) for it. trackflow also
answers the first page of spans (GET /api/v1/traces/{id}/spans?limit=100), what its trace view
loads first: the issue's target is < 1 s for it. MLflow has no span paging (its trace view loads
the whole trace, and its UI fails at ~32k spans: MLflow #24314), so that figure has no ratio.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    MLFLOW_BIN,
    MLFLOW_VENV,
    TF_BIN,
    TF_VENV,
    WORK,
    Stat,
    Unavailable,
    at_most,
    cleanup_on_sigterm,
    fmt_ratio,
    fmt_stat,
    free_port,
    ratio,
    say,
    service,
    table,
    venv_env,
    write_section,
)

from trackflow.entities.traces import SpanRecord, SpanStatus  # noqa: E402
from trackflow.tracing.otlp import encode_request  # noqa: E402

BATCH = 5_000


@dataclass
class Side:
    name: str
    ingest_s: float | None = None
    full: Stat = field(default_factory=Stat)
    first_page: Stat = field(default_factory=Stat)
    error: str = ""


def make_spans(count: int) -> tuple[str, list[SpanRecord]]:
    """A root and ``count - 1`` children in 50 branches, each with inputs, outputs and a type."""
    otel_trace_id = secrets.token_hex(16)
    trace_id = "tr-" + otel_trace_id
    start = time.time_ns() - 60 * 1_000_000_000
    root = SpanRecord(trace_id, secrets.token_hex(8), None, "agent", start, start + 50_000_000_000, SpanStatus.OK,
                      attributes={"mlflow.spanType": '"AGENT"', "mlflow.spanInputs": '{"question": "q"}',
                                  "mlflow.spanOutputs": '"answer"'})
    spans = [root]
    branches = [root.span_id]
    for i in range(1, count):
        parent = branches[i % len(branches)] if len(branches) >= 50 else root.span_id
        span = SpanRecord(trace_id, secrets.token_hex(8), parent, f"step-{i}", start + i * 1_000_000,
                          start + i * 1_000_000 + 500_000, SpanStatus.OK,
                          attributes={"mlflow.spanType": '"TOOL"',
                                      "mlflow.spanInputs": f'{{"i": {i}, "text": "{"x" * 60}"}}',
                                      "mlflow.spanOutputs": f'{{"ok": true, "n": {i}}}'})
        spans.append(span)
        if len(branches) < 50:
            branches.append(span.span_id)
    return trace_id, spans


def measure(name: str, base: str, experiment_id: str, trace_id: str, spans: list[SpanRecord], reps: int) -> Side:
    side = Side(name)
    session = requests.Session()
    payloads = [encode_request(spans[i:i + BATCH]) for i in range(0, len(spans), BATCH)]
    started = time.perf_counter()
    for body in payloads:
        response = session.post(f"{base}/v1/traces", data=body, timeout=600, headers={
            "Content-Type": "application/x-protobuf", "x-mlflow-experiment-id": experiment_id})
        if response.status_code != 200:
            raise Unavailable(f"{name} refused the OTLP export: {response.status_code} {response.text[:200]}")
    side.ingest_s = time.perf_counter() - started
    for _ in range(reps):
        t0 = time.perf_counter()
        response = session.get(f"{base}/api/3.0/mlflow/traces/get", params={"trace_id": trace_id}, timeout=600)
        side.full.values.append(time.perf_counter() - t0)
        if response.status_code != 200 or len(response.json()["trace"]["spans"]) != len(spans):
            raise Unavailable(f"{name} GetTrace answered {response.status_code} {response.text[:200]}")
    if name == "trackflow":
        for _ in range(reps * 3):
            t0 = time.perf_counter()
            response = session.get(f"{base}/api/v1/traces/{trace_id}/spans", params={"limit": 100}, timeout=60)
            side.first_page.values.append(time.perf_counter() - t0)
            if response.status_code != 200 or response.json()["total"] != len(spans):
                raise Unavailable(f"trackflow span page answered {response.status_code} {response.text[:200]}")
    return side


def run_side(name: str, count: int, reps: int) -> Side:
    d = WORK / f"traces-{name}"
    shutil.rmtree(d, ignore_errors=True)
    (d / "artifacts").mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{d / 'store.db'}"
    if name == "mlflow":
        cmd = [str(MLFLOW_BIN), "server", "--backend-store-uri", db, "--default-artifact-root", str(d / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
        env = venv_env(MLFLOW_VENV)
    else:
        cmd = [str(TF_BIN), "server", "--backend-store-uri", db, "--artifacts-destination", str(d / "artifacts"),
               "--host", "127.0.0.1", "--port", str(port)]
        env = venv_env(TF_VENV, TRACKFLOW_HOME=str(d / "home"))
    with service(name, cmd, d / "server.log", env) as svc:
        svc.wait_ready(f"{base}/health", 180)
        created = requests.post(f"{base}/api/2.0/mlflow/experiments/create", json={"name": "bench-traces"}, timeout=60)
        if created.status_code != 200:
            raise Unavailable(f"{name}: experiments/create answered {created.status_code}")
        trace_id, spans = make_spans(count)
        say(f"[{name}] ingesting {count} spans over OTLP ...")
        return measure(name, base, created.json()["experiment_id"], trace_id, spans, reps)


def report(sides: dict[str, Side], count: int) -> str:
    ml = sides.get("mlflow", Side("mlflow", error="skipped"))
    tf = sides.get("trackflow", Side("trackflow", error="skipped"))
    both = not ml.error and not tf.error

    def ingest(side: Side) -> str:
        return "n/a" if side.error or side.ingest_s is None else f"{side.ingest_s:.2f} s"

    rows = [
        ["OTLP ingest of the trace (once)", ingest(ml), ingest(tf),
         fmt_ratio(ratio(ml.ingest_s, tf.ingest_s)) if both else "n/a"],
        ["GetTrace, all spans (median)", "n/a" if ml.error else fmt_stat(ml.full),
         "n/a" if tf.error else fmt_stat(tf.full), fmt_ratio(ratio(ml.full.median, tf.full.median)) if both else "n/a"],
        ["first page of spans, 100 (median)", "no paging", "n/a" if tf.error else fmt_stat(tf.first_page), "-"],
    ]
    text = table(["measure", "mlflow", "trackflow", "ratio"], rows)
    target = at_most(None if tf.error else tf.first_page.median, 1.0)
    text += (f"\n\nOne trace of {count:,} spans (a root, 50 branches, inputs and outputs on every span), sent as "
             f"OTLP protobuf in batches of {BATCH:,} to both servers' POST /v1/traces. Target: the first page of a "
             f"50,000-span trace in < 1 s: {target}.")
    for side in (ml, tf):
        if side.error:
            text += f"\n\n{side.name}: not measured ({side.error})"
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5,000 spans instead of 50,000")
    ap.add_argument("--only", choices=["mlflow", "trackflow"], help="measure one side only (no RESULTS.md)")
    a = ap.parse_args()
    cleanup_on_sigterm()
    count, reps = (5_000, 3) if a.quick else (50_000, 3)
    sides: dict[str, Side] = {}
    for name, binary in (("mlflow", MLFLOW_BIN), ("trackflow", TF_BIN)):
        if a.only and a.only != name:
            continue
        try:
            if not binary.exists():
                raise Unavailable(f"{binary} missing")
            sides[name] = run_side(name, count, reps)
        except Exception as exc:  # one side failing must not hide the other's figures
            say(f"{name}: not available ({type(exc).__name__}: {exc})")
            sides[name] = Side(name, error=f"{type(exc).__name__}: {str(exc)[:300]}")
    text = report(sides, count)
    say("\n" + text)
    if not a.only:
        write_section("traces", "Traces (issue 13): a 50,000-span trace, MLflow 3 server vs trackflow server", text,
                      a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
