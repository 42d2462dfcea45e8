"""Closed-loop HTTP load generator (stdlib only): THREADS keep-alive connections POSTing one body
for DURATION seconds.

    python _loadgen.py HOST PORT PATH BODY_FILE DURATION THREADS

Prints one JSON line: {"ok": n, "errors": m, "elapsed": s, "lat": [sampled latencies]}.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time


def main(host: str, port: int, path: str, body: bytes, duration: float, threads: int) -> None:
    ok = [0] * threads
    err = [0] * threads
    lat: list[list[float]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads + 1)
    stop_at = [0.0]

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        headers = {"Content-Type": "application/json"}
        start.wait()
        n = 0
        while time.perf_counter() < stop_at[0]:
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                if r.status == 200:
                    ok[i] += 1
                else:
                    err[i] += 1
            except (OSError, http.client.HTTPException):
                err[i] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
            n += 1
            if n % 10 == 0:
                lat[i].append(time.perf_counter() - t0)
        conn.close()

    ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in ts:
        t.start()
    stop_at[0] = time.perf_counter() + duration
    t0 = time.perf_counter()
    start.wait()
    for t in ts:
        t.join()
    elapsed = time.perf_counter() - t0
    print(json.dumps({"ok": sum(ok), "errors": sum(err), "elapsed": elapsed,
                      "lat": [x for xs in lat for x in xs]}))


if __name__ == "__main__":
    a = sys.argv
    with open(a[4], "rb") as f:
        main(a[1], int(a[2]), a[3], f.read(), float(a[5]), int(a[6]))
