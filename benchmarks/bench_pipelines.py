"""Pipelines benchmark (issue 5): workloads W1..W4 of shared/reference/pipeline-workloads.md,
Airflow 3 (LocalExecutor, SQLite, `airflow standalone`, REST API v2) vs trackflow
(`trackflow server --dags-folder DIR`, REST API /api/v1), plus `dags test` of W1,
cold start, idle CPU and idle RSS/PSS.

    .venv/bin/python benchmarks/bench_pipelines.py [--quick] [--only airflow|trackflow]

Do not run it next to anything heavy: the machine has 2 cores and both orchestrators use them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    AIRFLOW_BIN,
    AIRFLOW_VENV,
    TF_BIN,
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
    say,
    table,
    timed_cmd,
    trackflow_command,
    tree,
    tree_cpu_percent,
    tree_memory,
    venv_env,
    verdict,
    write_section,
)
from _workloads import DAG_IDS, write_parse_set, write_workloads  # noqa: E402

TERMINAL_OK = {"success"}
TERMINAL_BAD = {"failed", "error", "upstream_failed"}
POLL = 0.05


@dataclass
class TI:
    task_id: str
    state: str
    start: float | None  # epoch seconds
    end: float | None


def parse_time(v: Any) -> float | None:
    """Epoch seconds from an ISO-8601 string or a number (ms or s since the epoch)."""
    if v is None or v == "":
        return None
    if isinstance(v, int | float):
        return v / 1000.0 if v > 1e11 else float(v)
    s = str(v).replace("Z", "+00:00")
    try:
        t = dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


def max_concurrency(tis: list[TI]) -> int:
    ev = []
    for t in tis:
        if t.start is not None and t.end is not None:
            ev += [(t.start, 1), (t.end, -1)]
    cur = best = 0
    for _, d in sorted(ev, key=lambda e: (e[0], e[1])):
        cur += d
        best = max(best, cur)
    return best


def chain_gaps(tis: list[TI], prefix: str) -> list[float]:
    by = {t.task_id: t for t in tis if t.task_id.startswith(prefix)}
    ids = sorted(by)
    gaps = []
    for a, b in zip(ids, ids[1:], strict=False):
        ea, sb = by[a].end, by[b].start
        if ea is not None and sb is not None:
            gaps.append(sb - ea)
    return gaps


class MemSampler(threading.Thread):
    """Peak RSS and PSS of a process tree, sampled every 0.5 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = self.peak_pss = 0.0
        self.peak_procs = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            rss, pss, n = tree_memory(self.pid)
            self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, n)
            self._halt.wait(0.5)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


# --------------------------------------------------------------------------- the two systems
class Side:
    name = ""
    # the launched process's direct children are long-lived components (Airflow standalone):
    # one of them exiting means the orchestrator is broken
    watch_children = False
    components: dict[int, str] = {}
    notes: list[str]
    svc: Service | None = None

    def start(self, dags: Path, d: Path) -> float: ...
    def trigger(self, dag_id: str) -> str: ...
    def state(self, dag_id: str, run_id: str) -> str: ...
    def task_instances(self, dag_id: str, run_id: str) -> list[TI]: ...
    def parse_folder(self, folder: Path, n_expected: int, d: Path) -> float: ...
    def dags_test(self, dags: Path, dag_id: str, d: Path) -> tuple[float, int, str]: ...

    def snapshot_components(self) -> None:
        """Remember the names of the long-running components (a dead one shows no command line)."""
        self.components: dict[int, str] = {}
        if self.svc is None:
            return
        try:
            for p in psutil.Process(self.svc.pid).children(recursive=False):
                cmd = p.cmdline()
                words = [w for w in cmd if not w.startswith("/") and w not in ("airflow", "--")]
                name = words[0] if words else " ".join(cmd)
                self.components[p.pid] = name.removeprefix("airflow ").split(" --")[0][:40]
        except psutil.NoSuchProcess:
            pass

    def stop(self) -> None:
        if self.svc is not None:
            self.svc.stop()
            self.svc = None

    def problem(self) -> str | None:
        """Why the long-running components can no longer do their job (a component exited), or None."""
        if self.svc is None or self.svc.proc is None:
            return "not running"
        if self.svc.proc.poll() is not None:
            return f"exited with code {self.svc.proc.returncode}"
        if not self.watch_children:
            return None
        dead: list[str] = []
        try:
            children = psutil.Process(self.svc.pid).children(recursive=False)
        except psutil.NoSuchProcess:
            return "exited"
        for p in children:
            try:
                if p.status() == psutil.STATUS_ZOMBIE:
                    dead.append(self.components.get(p.pid, str(p.pid)))
            except psutil.NoSuchProcess:
                continue
        if not dead:
            return None
        try:
            lines = self.svc.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        errs = [ln for ln in lines if re.search(r"Error: |OperationalError", ln) and "api-server" not in ln]
        why = errs[-1].strip()[:200] if errs else "see its log"
        return f"{', '.join(dead)} exited (last error: {why})"


class AirflowSide(Side):
    name = "airflow"
    watch_children = True

    def __init__(self) -> None:
        require(AIRFLOW_BIN, "Airflow (venv-airflow)")
        self.notes = ["`airflow standalone` (api-server, scheduler, dag-processor, triggerer), LocalExecutor, "
                      "SQLite, default parallelism (32) and max_active_tasks (16)"]
        self.base = ""
        self.s = requests.Session()

    def env(self, d: Path, dags: Path, db: Path) -> dict[str, str]:
        api = free_port()
        self.base = f"http://127.0.0.1:{api}"
        return venv_env(
            AIRFLOW_VENV,
            AIRFLOW_HOME=str(d / "home"),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{db}",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__API__PORT=str(api),
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://localhost:{api}/execution/",
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            PYTHONWARNINGS="ignore",
        )

    def migrated_db(self, d: Path) -> Path:
        """An empty, migrated Airflow DB (made once, copied for each use)."""
        tpl = WORK / "pipelines-airflow-template.db"
        if not tpl.exists():
            tmp = d / "migrate"
            tmp.mkdir(parents=True, exist_ok=True)
            env = self.env(tmp, tmp, tpl)
            secs, p = timed_cmd([str(AIRFLOW_BIN), "db", "migrate"], timeout=600, env=env, cwd=tmp)
            if p.returncode != 0:
                tpl.unlink(missing_ok=True)
                raise Unavailable(f"airflow db migrate failed: {(p.stderr or p.stdout)[-400:]}")
        return tpl

    def fresh_db(self, d: Path, name: str) -> Path:
        """A new copy of the migrated DB under a name never used before in this run, so no journal or
        WAL file left by a killed process can pair with it."""
        self.n_db = getattr(self, "n_db", 0) + 1
        stem = Path(name).stem
        for old in d.glob(f"{stem}-*.db*"):
            old.unlink(missing_ok=True)
        db = d / f"{stem}-{self.n_db}.db"
        shutil.copy(self.migrated_db(d), db)
        return db

    def start(self, dags: Path, d: Path) -> float:
        db = self.fresh_db(d, "airflow.db")
        env = self.env(d, dags, db)
        self.run_env = env
        self.svc = Service("airflow standalone", [str(AIRFLOW_BIN), "standalone"], d / "standalone.log",
                           env=env, cwd=d).start()
        deadline = time.perf_counter() + 300
        want = set(DAG_IDS.values())
        while time.perf_counter() < deadline:
            if self.svc.proc is not None and self.svc.proc.poll() is not None:
                raise Unavailable(f"airflow standalone exited: {self.svc.log_tail()}")
            try:
                h = self.s.get(f"{self.base}/api/v2/monitor/health", timeout=5)
                if h.status_code == 200:
                    hj = h.json()
                    healthy = all(hj.get(k, {}).get("status") == "healthy"
                                  for k in ("metadatabase", "scheduler", "dag_processor"))
                    if healthy:
                        r = self.s.get(f"{self.base}/api/v2/dags", params={"limit": 100}, timeout=5)
                        if r.status_code == 200 and want <= {x["dag_id"] for x in r.json()["dags"]}:
                            secs = time.perf_counter() - self.svc.t_launch
                            self.snapshot_components()
                            return secs
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise Unavailable(f"airflow did not become ready in 300 s: {self.svc.log_tail()}")

    def trigger(self, dag_id: str) -> str:
        r = self.s.post(f"{self.base}/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None}, timeout=120)
        if r.status_code >= 300:
            raise Unavailable(f"trigger {dag_id}: HTTP {r.status_code} {r.text[:300]}")
        return str(r.json()["dag_run_id"])

    def state(self, dag_id: str, run_id: str) -> str:
        r = self.s.get(f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}", timeout=30)
        r.raise_for_status()
        return str(r.json()["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[TI]:
        out: list[TI] = []
        offset = 0
        while True:
            r = self.s.get(f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                           params={"limit": 100, "offset": offset}, timeout=120)
            r.raise_for_status()
            page = r.json()["task_instances"]
            out += [TI(t["task_id"], str(t["state"]), parse_time(t["start_date"]), parse_time(t["end_date"]))
                    for t in page]
            offset += len(page)
            if not page or offset >= r.json().get("total_entries", 0):
                return out

    def parse_folder(self, folder: Path, n_expected: int, d: Path) -> float:
        """One `airflow dag-processor -n 1` loop on a fresh migrated DB, wall time incl. process start."""
        db = self.fresh_db(d, "parse.db")
        env = self.env(d, folder, db)
        secs, p = timed_cmd([str(AIRFLOW_BIN), "dag-processor", "-n", "1"], timeout=900, env=env, cwd=d)
        if p.returncode != 0:
            raise Unavailable(f"airflow dag-processor -n 1 failed: {(p.stderr or p.stdout)[-400:]}")
        with sqlite3.connect(db) as c:
            n = c.execute("select count(*) from dag where dag_id like 'w4_parse_%'").fetchone()[0]
        if n != n_expected:
            self.notes.append(f"dag-processor -n 1 stored {n} of {n_expected} W4 DAGs")
        return secs

    def dags_test(self, dags: Path, dag_id: str, d: Path) -> tuple[float, int, str]:
        db = self.fresh_db(d, "dagstest.db")
        env = self.env(d, dags, db)
        secs, p = timed_cmd([str(AIRFLOW_BIN), "dags", "test", dag_id], timeout=900, env=env, cwd=d)
        return secs, p.returncode, (p.stderr or p.stdout)[-300:]


class TrackflowSide(Side):
    """Drives `trackflow server --dags-folder` through /api/v1. The DAG routes are found in the
    server's OpenAPI document, so the benchmark follows whatever paths the pipelines API settles on."""

    name = "trackflow"

    def __init__(self) -> None:
        if not TF_BIN.exists():
            raise Unavailable(f"{TF_BIN} missing")
        self.notes = ["`trackflow server --dags-folder` (API, scheduler and local executor in one process "
                      "tree), SQLite, default limits"]
        self.base = ""
        self.s = requests.Session()
        self.routes: dict[str, str] = {}

    def env(self, d: Path) -> dict[str, str]:
        return venv_env(TF_VENV, TRACKFLOW_HOME=str(d / "home"), PYTHONWARNINGS="ignore")

    def launch(self, dags: Path, d: Path, db_name: str) -> Service:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        (d / "artifacts").mkdir(parents=True, exist_ok=True)
        (d / db_name).unlink(missing_ok=True)
        cmd = [str(TF_BIN), "server", "--host", "127.0.0.1", "--port", str(port),
               "--backend-store-uri", f"sqlite:///{d / db_name}", "--artifacts-destination",
               str(d / "artifacts"), "--dags-folder", str(dags)]
        return Service("trackflow server", cmd, d / f"server-{db_name}.log", env=self.env(d), cwd=d).start()

    def discover(self) -> None:
        r = self.s.get(f"{self.base}/api/v1/openapi.json", timeout=10)
        if r.status_code != 200:
            raise Unavailable(f"/api/v1/openapi.json answered {r.status_code}")
        paths: dict[str, dict] = r.json().get("paths", {})

        def find(method: str, pattern: str) -> str | None:
            for p, ops in paths.items():
                if method in ops and re.fullmatch(pattern, p, flags=re.I):
                    return p
            return None

        runs = r"(dag_?runs|runs)"
        routes = {k: v for k, v in {
            "list": find("get", r"/api/v1/dags/?"),
            "trigger": find("post", rf"/api/v1/dags/\{{[^}}]+\}}/{runs}/?")
            or find("post", r"/api/v1/dags/\{[^}]+\}/trigger/?"),
            "run": find("get", rf"/api/v1/dags/\{{[^}}]+\}}/{runs}/\{{[^}}]+\}}/?")
            or find("get", r"/api/v1/dag_?runs/\{[^}]+\}/?"),
            "tis": find("get", rf"/api/v1/dags/\{{[^}}]+\}}/{runs}/\{{[^}}]+\}}/task_?instances/?")
            or find("get", r"/api/v1/dag_?runs/\{[^}]+\}/task_?instances/?"),
            "unpause": find("post", r"/api/v1/dags/\{[^}]+\}/unpause/?"),
            "patch": find("patch", r"/api/v1/dags/\{[^}]+\}/?"),
        }.items() if v}
        missing = [k for k in ("list", "trigger", "run") if k not in routes]
        if missing:
            dag_paths = sorted(p for p in paths if "dag" in p.lower())[:12]
            raise Unavailable(f"/api/v1 has no DAG route for {missing} (DAG paths seen: {dag_paths or 'none'})")
        self.routes = routes

    def url(self, key: str, dag_id: str, run_id: str = "") -> str:
        path = self.routes[key]
        names = re.findall(r"\{([^}]+)\}", path)
        values = [dag_id, run_id]
        if key in ("run", "tis") and len(names) == 1:
            values = [run_id]
        for n, v in zip(names, values, strict=False):
            path = path.replace("{" + n + "}", quote(v, safe=""))
        return self.base + path

    def dag_ids(self) -> set[str]:
        r = self.s.get(self.url("list", ""), params={"limit": 1000}, timeout=10)
        if r.status_code != 200:
            return set()
        j = r.json()
        items = j if isinstance(j, list) else j.get("dags", j.get("items", []))
        return {x["dag_id"] for x in items if isinstance(x, dict) and "dag_id" in x}

    def wait_dags(self, svc: Service, want: Callable[[set[str]], bool], timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        svc.wait_ready(f"{self.base}/health", timeout=timeout)
        if not self.routes:
            self.discover()
        while time.perf_counter() < deadline:
            if want(self.dag_ids()):
                return time.perf_counter() - svc.t_launch
            if svc.proc is not None and svc.proc.poll() is not None:
                raise Unavailable(f"trackflow server exited: {svc.log_tail()}")
            time.sleep(0.02)
        raise Unavailable(f"DAGs not visible through the API within {timeout:.0f} s")

    def start(self, dags: Path, d: Path) -> float:
        self.svc = self.launch(dags, d, "store.db")
        want = set(DAG_IDS.values())
        secs = self.wait_dags(self.svc, lambda ids: want <= ids, 120)
        for dag_id in want:  # manual triggers must not depend on the paused-at-creation default
            if "unpause" in self.routes:
                self.s.post(self.url("unpause", dag_id), timeout=10)
            elif "patch" in self.routes:
                self.s.patch(self.url("patch", dag_id), json={"is_paused": False}, timeout=10)
        return secs

    def trigger(self, dag_id: str) -> str:
        r = self.s.post(self.url("trigger", dag_id), json={}, timeout=120)
        if r.status_code >= 300:
            raise Unavailable(f"trigger {dag_id}: HTTP {r.status_code} {r.text[:300]}")
        j = r.json()
        for k in ("run_id", "dag_run_id", "id"):
            if k in j:
                return str(j[k])
        raise Unavailable(f"trigger answer has no run id: {str(j)[:200]}")

    def _run(self, dag_id: str, run_id: str) -> dict:
        r = self.s.get(self.url("run", dag_id, run_id), timeout=30)
        r.raise_for_status()
        return r.json()

    def state(self, dag_id: str, run_id: str) -> str:
        return str(self._run(dag_id, run_id).get("state", "")).lower()

    def task_instances(self, dag_id: str, run_id: str) -> list[TI]:
        j = self._run(dag_id, run_id)
        items = j.get("task_instances")
        if items is None and "tis" in self.routes:
            r = self.s.get(self.url("tis", dag_id, run_id), params={"limit": 1000}, timeout=30)
            r.raise_for_status()
            rj = r.json()
            items = rj if isinstance(rj, list) else rj.get("task_instances", rj.get("items", []))
        out = []
        for t in items or []:
            out.append(TI(str(t.get("task_id")), str(t.get("state", "")).lower(),
                          parse_time(t.get("start_date", t.get("start_time"))),
                          parse_time(t.get("end_date", t.get("end_time")))))
        return out

    def parse_folder(self, folder: Path, n_expected: int, d: Path) -> float:
        """Launch `trackflow server --dags-folder` on a fresh store: seconds until the API lists all
        the folder's DAGs (process start included, as Airflow's `dag-processor -n 1` includes it)."""
        svc = self.launch(folder, d, "parse.db")
        try:
            if n_expected == 0:
                svc.wait_ready(f"{self.base}/health", timeout=120)
                if not self.routes:
                    self.discover()
                self.dag_ids()
                return time.perf_counter() - svc.t_launch
            return self.wait_dags(svc, lambda ids: sum(i.startswith("w4_parse_") for i in ids) >= n_expected,
                                  300)
        finally:
            svc.stop()

    def dags_test(self, dags: Path, dag_id: str, d: Path) -> tuple[float, int, str]:
        prefix, note = trackflow_command("dags", "test", fallbacks=["trackflow.cli.dags:dags",
                                                                   "trackflow.cli.pipelines:dags"])
        if note and note not in self.notes:
            self.notes.append(note)
        home = d / "dagstest-home"
        shutil.rmtree(home, ignore_errors=True)
        env = venv_env(TF_VENV, TRACKFLOW_HOME=str(home), PYTHONWARNINGS="ignore")
        secs, p = timed_cmd([*prefix, "test", dag_id, "--dags-folder", str(dags)], timeout=600, env=env, cwd=d)
        return secs, p.returncode, (p.stderr or p.stdout)[-300:]


# --------------------------------------------------------------------------- the benchmark
@dataclass
class WorkloadResult:
    wall: Stat = field(default_factory=Stat)
    gaps: Stat = field(default_factory=Stat)  # W1: all handoff gaps of all runs
    gap_medians: Stat = field(default_factory=Stat)
    peak_rss: float = 0.0
    peak_pss: float = 0.0
    peak_procs: int = 0
    max_running: int = 0
    tasks: int = 0
    failures: list[str] = field(default_factory=list)
    load: str = ""


@dataclass
class SideResult:
    name: str
    error: str | None = None
    cold_start: float | None = None
    idle_rss: float | None = None
    idle_pss: float | None = None
    idle_procs: int | None = None
    idle_cpu: float | None = None
    w: dict[str, WorkloadResult] = field(default_factory=dict)
    w4: Stat = field(default_factory=Stat)
    w4_empty: Stat = field(default_factory=Stat)
    dags_test: Stat = field(default_factory=Stat)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def loadavg() -> str:
    a = os.getloadavg()
    return f"{a[0]:.2f}/{a[1]:.2f}/{a[2]:.2f}"


def run_one(side: Side, key: str, dag_id: str, wr: WorkloadResult, timeout: float) -> None:
    sampler = MemSampler(side.svc.pid) if (key == "W2" and side.svc is not None) else None
    if sampler:
        sampler.start()
    t0 = time.perf_counter()
    run_id = side.trigger(dag_id)
    state = ""
    last_check = time.perf_counter()
    grace_until: float | None = None
    while time.perf_counter() - t0 < timeout:
        try:
            state = side.state(dag_id, run_id)
        except (requests.RequestException, ValueError, KeyError):
            state = ""  # a busy API (e.g. Airflow's during W2 on 2 cores) is not a failed run
        if state in TERMINAL_OK or state in TERMINAL_BAD:
            break
        if time.perf_counter() - last_check > 5:
            last_check = time.perf_counter()
            why = side.problem()
            if why and grace_until is None:
                # a component died (e.g. Airflow's dag-processor on 'database is locked'): the run may
                # still finish; give it 120 s more before calling it stuck
                grace_until = time.perf_counter() + 120
                wr.failures.append(f"during run {run_id}: {why}")
            if grace_until is not None and time.perf_counter() > grace_until:
                state = f"stuck after: {why}"
                break
        time.sleep(POLL)
    wall = time.perf_counter() - t0
    if sampler:
        sampler.stop()
        wr.peak_rss = max(wr.peak_rss, sampler.peak_rss)
        wr.peak_pss = max(wr.peak_pss, sampler.peak_pss)
        wr.peak_procs = max(wr.peak_procs, sampler.peak_procs)
    if state not in TERMINAL_OK:
        wr.failures.append(f"run {run_id} ended '{state or 'timeout'}' after {wall:.1f} s")
        return
    wr.wall.values.append(wall)
    tis: list[TI] = []
    for attempt in range(3):
        try:
            tis = side.task_instances(dag_id, run_id)
            break
        except (requests.RequestException, ValueError, KeyError) as exc:
            if attempt == 2:
                wr.failures.append(f"run {run_id}: task instances not readable: {exc}")
                return
            time.sleep(2)
    wr.tasks = len(tis)
    bad = [t.task_id for t in tis if t.state != "success"]
    if bad:
        wr.failures.append(f"run {run_id}: tasks not success: {bad[:5]}")
    if key == "W1":
        g = chain_gaps(tis, "t")
        wr.gaps.values += g
        if g:
            wr.gap_medians.values.append(Stat(g).median)
    if key == "W2":
        wr.max_running = max(wr.max_running, max_concurrency(tis))


def measure(side: Side, sizes: dict, root: Path) -> SideResult:
    res = SideResult(side.name)
    d = root / side.name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    dags = d / "dags"
    write_workloads(side.name, dags, w2_width=sizes["w2_width"])
    w4 = d / "w4"
    write_parse_set(side.name, w4, sizes["w4_files"])
    empty = d / "empty"
    empty.mkdir()

    say(f"[{side.name}] cold start ...")
    try:
        res.cold_start = side.start(dags, d)
        say(f"[{side.name}] API up, scheduler healthy, W1-W3 visible after {res.cold_start:.2f} s")
        time.sleep(sizes["idle_wait"])
        assert side.svc is not None
        res.idle_rss, res.idle_pss, res.idle_procs = tree_memory(side.svc.pid)
        res.idle_cpu = tree_cpu_percent(side.svc.pid, sizes["cpu_window"])
        say(f"[{side.name}] idle: RSS {res.idle_rss:.0f} MB, PSS {res.idle_pss:.0f} MB in {res.idle_procs} "
            f"processes, CPU {res.idle_cpu:.1f} %")
        for key, dag_id in DAG_IDS.items():
            wr = WorkloadResult(load=loadavg())
            res.w[key] = wr
            for _ in range(sizes["reps"]):
                why = side.problem()
                if why:
                    res.notes.append(f"{side.name} restarted before a {key} run: {why}")
                    say(f"[{side.name}] restarting: {why}")
                    side.stop()
                    side.start(dags, d)
                time.sleep(3)
                try:
                    run_one(side, key, dag_id, wr, timeout=sizes["run_timeout"])
                except (Unavailable, requests.RequestException, ValueError, KeyError) as exc:
                    wr.failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            say(f"[{side.name}] {key}: {fmt_stat(wr.wall)} "
                + (f"gap p50 {fmt_num(wr.gaps.median, 's')} " if wr.gaps.values else "")
                + (f"max running {wr.max_running} peak PSS {wr.peak_pss:.0f} MB " if key == "W2" else "")
                + ("; ".join(wr.failures[:2])))
    except Unavailable as exc:
        say(f"[{side.name}] server workloads not available: {exc}")
        res.errors.append(f"server workloads: {exc}")
    finally:
        if side.svc is not None:
            res.notes.append(f"{len(tree(side.svc.pid))} processes in the tree at the end")
        side.stop()

    say(f"[{side.name}] W4 parse of {sizes['w4_files']} files ...")
    try:
        for _ in range(sizes["reps"]):
            res.w4_empty.values.append(side.parse_folder(empty, 0, d))
            res.w4.values.append(side.parse_folder(w4, sizes["w4_files"], d))
        say(f"[{side.name}] W4: {fmt_stat(res.w4)} (empty folder {fmt_stat(res.w4_empty)})")
    except Unavailable as exc:
        res.errors.append(f"W4: {exc}")

    say(f"[{side.name}] dags test w1_chain ...")
    try:
        for _ in range(sizes["reps"]):
            secs, rc, tail = side.dags_test(dags, "w1_chain", d)
            if rc != 0:
                res.errors.append(f"dags test exited {rc}: {tail}")
                break
            res.dags_test.values.append(secs)
        say(f"[{side.name}] dags test: {fmt_stat(res.dags_test)}")
    except Unavailable as exc:
        res.errors.append(f"dags test: {exc}")
    res.notes += side.notes
    return res


def report(af: SideResult, tf: SideResult, sizes: dict) -> str:
    def w(r: SideResult, k: str) -> WorkloadResult | None:
        return r.w.get(k) if r.error is None else None

    def st(r: SideResult, k: str) -> str:
        x = w(r, k)
        if x is None or not x.wall.values:
            return "n/a" if x is None or not x.failures else "failed"
        return fmt_stat(x.wall)

    def med(r: SideResult, k: str) -> float | None:
        x = w(r, k)
        return x.wall.median if x and x.wall.values else None

    rows = []
    r1 = ratio(med(af, "W1"), med(tf, "W1"))
    rows.append(["W1 chain of 20 no-op tasks, trigger to success", st(af, "W1"), st(tf, "W1"), fmt_ratio(r1),
                 ">= 20x", verdict(r1, 20)])
    ga, gt = w(af, "W1"), w(tf, "W1")
    rows.append(["W1 gap task end → next task start, p50 over all gaps (range of run medians)",
                 fmt_stat(Stat([ga.gaps.median]) if ga and ga.gaps.values else None) +
                 (f" ({fmt_num(ga.gap_medians.lo, 's')}–{fmt_num(ga.gap_medians.hi, 's')})"
                  if ga and ga.gap_medians.values else ""),
                 fmt_stat(Stat([gt.gaps.median]) if gt and gt.gaps.values else None) +
                 (f" ({fmt_num(gt.gap_medians.lo, 's')}–{fmt_num(gt.gap_medians.hi, 's')})"
                  if gt and gt.gap_medians.values else ""),
                 fmt_ratio(ratio(ga.gaps.median if ga and ga.gaps.values else None,
                                 gt.gaps.median if gt and gt.gaps.values else None)),
                 "trackflow p50 <= 50 ms", at_most(gt.gaps.median if gt and gt.gaps.values else None, 0.050)])
    r2 = ratio(med(af, "W2"), med(tf, "W2"))
    rows.append([f"W2 fan-out 1 → {sizes['w2_width']} → 1, trigger to success", st(af, "W2"), st(tf, "W2"),
                 fmt_ratio(r2), ">= 10x", verdict(r2, 10)])
    wa, wt = w(af, "W2"), w(tf, "W2")

    def w2mem(x: WorkloadResult | None) -> str:
        if x is None or not x.wall.values:
            return "n/a"
        return f"PSS {x.peak_pss:,.0f} MB / RSS {x.peak_rss:,.0f} MB, {x.peak_procs} procs, {x.max_running} running"

    rows.append(["W2 peak memory of all orchestrator processes; most tasks running at once",
                 w2mem(wa), w2mem(wt), fmt_ratio(ratio(wa.peak_pss if wa else None, wt.peak_pss if wt else None)),
                 "", ""])
    r3 = ratio(med(af, "W3"), med(tf, "W3"))
    rows.append(["W3 10 tasks passing a 1 KB dict, trigger to success", st(af, "W3"), st(tf, "W3"),
                 fmt_ratio(r3), ">= 20x", verdict(r3, 20)])

    def s4(r: SideResult, s: Stat) -> str:
        return fmt_stat(s) if s.values else "n/a"

    r4 = ratio(af.w4.median if af.w4.values else None, tf.w4.median if tf.w4.values else None)
    rows.append([f"W4 discover + store {sizes['w4_files']} five-task DAG files (Airflow: `dag-processor -n 1`; "
                 "trackflow: server launch until the API lists them)", s4(af, af.w4), s4(tf, tf.w4),
                 fmt_ratio(r4), ">= 5x", verdict(r4, 5)])
    rows.append(["W4 same on an empty folder (fixed start-up cost)", s4(af, af.w4_empty), s4(tf, tf.w4_empty),
                 fmt_ratio(ratio(af.w4_empty.median if af.w4_empty.values else None,
                                 tf.w4_empty.median if tf.w4_empty.values else None)), "", ""])
    dt_a = af.dags_test.median if af.dags_test.values else None
    dt_t = tf.dags_test.median if tf.dags_test.values else None
    rows.append(["`dags test w1_chain`, whole command incl. interpreter start", s4(af, af.dags_test),
                 s4(tf, tf.dags_test), fmt_ratio(ratio(dt_a, dt_t)), "trackflow <= 1 s", at_most(dt_t, 1.0)])
    rows.append(["cold start: launch until API answers, scheduler healthy, W1–W3 visible",
                 fmt_num(af.cold_start, "s"), fmt_num(tf.cold_start, "s"),
                 fmt_ratio(ratio(af.cold_start, tf.cold_start)), "", ""])
    rows.append([f"idle CPU of all processes over {sizes['cpu_window']} s (% of one core)",
                 f"{af.idle_cpu:.1f} %" if af.idle_cpu is not None else "n/a",
                 f"{tf.idle_cpu:.1f} %" if tf.idle_cpu is not None else "n/a",
                 "", "trackflow < 2 %", "n/a" if tf.idle_cpu is None else ("met" if tf.idle_cpu < 2 else "NOT met")])

    def mem(r: SideResult) -> str:
        if r.idle_rss is None:
            return "n/a"
        return f"RSS {r.idle_rss:,.0f} MB / PSS {r.idle_pss:,.0f} MB in {r.idle_procs} procs"

    rows.append([f"idle memory {sizes['idle_wait']} s after cold start, all processes", mem(af), mem(tf),
                 fmt_ratio(ratio(af.idle_pss, tf.idle_pss)) + " (PSS)", "trackflow RSS <= 200 MB",
                 at_most(tf.idle_rss, 200)])
    lines = [
        "Compared: Apache Airflow 3.3.2 (`airflow standalone`, LocalExecutor, SQLite, REST API v2, DAGs in "
        "TaskFlow style) vs `trackflow server --dags-folder` (REST /api/v1), the same DAG files with only the "
        "import line changed. One run at a time, 3 s pause between runs, trigger-to-success polled every "
        f"{POLL * 1000:.0f} ms; {sizes['reps']} repetition(s) per figure, median (min–max).",
        "",
        table(["measure", "Airflow 3.3.2", "trackflow", "ratio (trackflow better by)", "target", "verdict"], rows),
        "",
    ]
    for r_ in (af, tf):
        if r_.error:
            lines.append(f"- {r_.name}: not available ({r_.error})")
            continue
        fails = [f"{k}: {'; '.join(x.failures[:2])}" for k, x in r_.w.items() if x.failures]
        loads = ", ".join(f"{k} {x.load}" for k, x in r_.w.items())
        lines.append(f"- {r_.name}: " + "; ".join(r_.notes) + (f"; load avg 1/5/15 at start: {loads}" if loads else ""))
        for e in r_.errors + fails:
            lines.append(f"- {r_.name}: {e}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    ap.add_argument("--only", choices=["airflow", "trackflow"], help="measure one side only (no RESULTS.md)")
    a = ap.parse_args()
    cleanup_on_sigterm()
    sizes = (dict(reps=1, w2_width=50, w4_files=20, idle_wait=5, cpu_window=5, run_timeout=300) if a.quick
             else dict(reps=3, w2_width=200, w4_files=100, idle_wait=20, cpu_window=10, run_timeout=600))
    root = WORK / "pipelines"
    results: dict[str, SideResult] = {}
    for name, cls in (("airflow", AirflowSide), ("trackflow", TrackflowSide)):
        if a.only and a.only != name:
            results[name] = SideResult(name, error="skipped (--only)")
            continue
        try:
            results[name] = measure(cls(), sizes, root)
        except Unavailable as exc:
            say(f"{name}: not available ({exc})")
            results[name] = SideResult(name, error=str(exc)[:500])
        except Exception as exc:  # a half-written side must not kill the other's figures
            say(f"{name}: not available ({type(exc).__name__}: {exc})")
            results[name] = SideResult(name, error=f"{type(exc).__name__}: {str(exc)[:400]}")
    text = report(results["airflow"], results["trackflow"], sizes)
    say("\n" + text)
    if not a.only:
        write_section("pipelines", "Pipelines (issue 5): Airflow 3 vs trackflow", text, a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
