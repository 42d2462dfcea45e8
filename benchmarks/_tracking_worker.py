"""Tracking benchmark worker: runs inside MLflow's venv (official MlflowClient) or
trackflow's venv (trackflow.Client), so both sides do exactly the same calls.

    python _tracking_worker.py seed    SYSTEM URI N_RUNS
    python _tracking_worker.py measure SYSTEM URI SEARCH_EXPERIMENT_ID BATCHES BATCH_SIZE ROUNDTRIPS REPS
    python _tracking_worker.py floor   SYSTEM URI BATCHES BATCH_SIZE ROUNDTRIPS REPS (against _null_server.py)

SYSTEM names the client library (mlflow: the official MlflowClient; trackflow: trackflow.Client),
not the server: the MLflow client is pointed at both servers.

Prints one JSON object on the last stdout line. Stdlib + the client library only.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
import uuid
from typing import Any

SEARCH_FILTER = "metrics.m0 > 0.5 and params.p0 = 'a'"
SEARCH_ORDER = ["metrics.m1 DESC"]
SEARCH_MAX = 1000


class Side:
    """The handful of client calls the benchmark needs, for one system."""

    def __init__(self, system: str, uri: str):
        self.system = system
        if system == "mlflow":
            from mlflow.entities import Metric, Param
            from mlflow.tracking import MlflowClient

            self.client: Any = MlflowClient(tracking_uri=uri)
        else:
            import trackflow
            try:
                from trackflow.entities import Metric, Param
            except ImportError:  # pragma: no cover - layout fallback
                from trackflow.entities.tracking import Metric, Param

            self.client = trackflow.Client(uri)
        self.Metric = Metric
        self.Param = Param

    def metric(self, key: str, value: float, ts: int, step: int) -> Any:
        return self.Metric(key, value, ts, step)

    def create_experiment(self, name: str) -> str:
        return str(self.client.create_experiment(name))

    def create_run(self, experiment_id: str) -> str:
        run = self.client.create_run(experiment_id)
        return str(run.info.run_id)

    def search(self, experiment_id: str) -> int:
        res = self.client.search_runs(
            experiment_ids=[experiment_id], filter_string=SEARCH_FILTER, order_by=SEARCH_ORDER,
            max_results=SEARCH_MAX,
        )
        n = len(res)
        if n and self.system != "mlflow":  # touch the data the way a user would
            _ = res[0].data.metrics
        return n

    def history(self, run_id: str, key: str) -> int:
        res = self.client.get_metric_history(run_id, key)
        if self.system == "mlflow":  # MlflowClient fetches every page itself
            return len(res)
        items = list(res)
        token = getattr(res, "next_page_token", None)
        while token:  # a paged answer: fetch everything, as MLflow's client does
            res = self.client.get_metric_history(run_id, key, page_token=token)
            items.extend(res)
            token = getattr(res, "next_page_token", None)
        return len(items)


def seed(side: Side, n_runs: int) -> dict[str, Any]:
    rng = random.Random(42)
    t0 = time.perf_counter()
    exp = side.create_experiment("search-bench")
    now = int(time.time() * 1000)
    letters = "abcde"
    for i in range(n_runs):
        run_id = side.create_run(exp)
        params = [side.Param(f"p{j}", letters[(i + j) % 5]) for j in range(5)]
        metrics = [side.metric(f"m{j}", rng.random(), now, 0) for j in range(5)]
        side.client.log_batch(run_id, metrics=metrics, params=params)
    return {"experiment_id": exp, "seconds": time.perf_counter() - t0, "runs": n_runs}


def measure(side: Side, search_exp: str, batches: int, batch_size: int, roundtrips: int,
            reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    exp = side.create_experiment(f"ingest-{uuid.uuid4().hex[:8]}")
    run_id = side.create_run(exp)

    # log_batch ingest: `batches` x `batch_size` points of one metric (later read back as history)
    now = int(time.time() * 1000)
    per_batch = []
    t_all = time.perf_counter()
    step = 0
    for _ in range(batches):
        ms = []
        for _ in range(batch_size):
            ms.append(side.metric("loss", 1.0 / (step + 1), now + step, step))
            step += 1
        t0 = time.perf_counter()
        side.client.log_batch(run_id, metrics=ms)
        per_batch.append(time.perf_counter() - t0)
    out["ingest_total_s"] = time.perf_counter() - t_all
    out["ingest_batch_s"] = per_batch
    out["ingest_points"] = step

    # one log_metric round trip
    rt_run = side.create_run(exp)
    for i in range(5):  # warm-up (connection pool, lazy imports)
        side.client.log_metric(rt_run, "warm", float(i), step=i)
    rts = []
    for i in range(roundtrips):
        t0 = time.perf_counter()
        side.client.log_metric(rt_run, "rt", float(i), step=i)
        rts.append(time.perf_counter() - t0)
    out["roundtrip_s"] = rts

    # search_runs with a metric + param filter and order_by
    side.search(search_exp)  # warm-up
    ss, counts = [], set()
    for _ in range(reps):
        t0 = time.perf_counter()
        counts.add(side.search(search_exp))
        ss.append(time.perf_counter() - t0)
    out["search_s"] = ss
    out["search_count"] = sorted(counts)

    # get_metric_history of the ingested metric
    hs, hcounts = [], set()
    for _ in range(reps):
        t0 = time.perf_counter()
        hcounts.add(side.history(run_id, "loss"))
        hs.append(time.perf_counter() - t0)
    out["history_s"] = hs
    out["history_count"] = sorted(hcounts)
    out["ingest_run_id"] = run_id
    out["summary"] = {
        "ingest_metrics_per_s": step / out["ingest_total_s"],
        "roundtrip_p50_ms": statistics.median(rts) * 1e3,
        "search_median_s": statistics.median(ss),
        "history_median_s": statistics.median(hs),
    }
    return out


def floor(side: Side, batches: int, batch_size: int, roundtrips: int, reps: int) -> dict[str, Any]:
    """The client's own cost per call, against a server that does nothing but answer (search and
    history with recorded bodies, when the null server replays them)."""
    run_id = side.create_run(side.create_experiment("floor"))
    now = int(time.time() * 1000)
    per_batch = []
    for b in range(batches):
        ms = [side.metric("loss", 1.0 / (i + 1), now + i, b * batch_size + i) for i in range(batch_size)]
        t0 = time.perf_counter()
        side.client.log_batch(run_id, metrics=ms)
        per_batch.append(time.perf_counter() - t0)
    for i in range(5):
        side.client.log_metric(run_id, "warm", float(i), step=i)
    rts = []
    for i in range(roundtrips):
        t0 = time.perf_counter()
        side.client.log_metric(run_id, "rt", float(i), step=i)
        rts.append(time.perf_counter() - t0)
    ss, hs = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        side.search("1")
        ss.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        side.history(run_id, "loss")
        hs.append(time.perf_counter() - t0)
    return {"ingest_batch_s": per_batch, "roundtrip_s": rts, "search_s": ss, "history_s": hs}


def main(argv: list[str]) -> None:
    cmd, system, uri = argv[1], argv[2], argv[3]
    side = Side(system, uri)
    if cmd == "seed":
        res = seed(side, int(argv[4]))
    elif cmd == "measure":
        res = measure(side, argv[4], int(argv[5]), int(argv[6]), int(argv[7]), int(argv[8]))
    elif cmd == "floor":
        res = floor(side, int(argv[4]), int(argv[5]), int(argv[6]), int(argv[7]))
    else:
        raise SystemExit(f"unknown command {cmd!r}")
    print(json.dumps(res))


if __name__ == "__main__":
    main(sys.argv)
