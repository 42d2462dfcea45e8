"""Scale-out benchmark (issue 10): the Celery executor, on PostgreSQL, side by side with the local
executor and with Airflow 3.3.2's CeleryExecutor (the peer in its production setup).

1. W2-mapped: `start >> work.expand(x=list(range(N))) >> join` with N = 2,000 mapped no-op tasks
   (--quick: 200), trigger to success, on
   - trackflow local: `trackflow server` with the default (local) executor;
   - trackflow Celery: `trackflow server` with executor "celery" + 2 `trackflow worker` processes;
   - Airflow Celery: `airflow api-server`, `scheduler`, `dag-processor` + 2 `airflow celery worker`;
   each on a fresh PostgreSQL database, Redis broker on a database number of its own (flushed first).
   The same parallelism on every side: the scheduler's limit P, the DAG's max_active_tasks P, and
   2 workers x P/2 concurrency on the Celery sides.
2. W1 handoff on each of them: the chain of 20 no-op tasks, gap between one task's end and the next
   one's start from the task records (as bench_pipelines.py); targets: trackflow Celery p50 <= 100 ms,
   trackflow local p50 <= 50 ms.

    .venv/bin/python benchmarks/bench_scaleout.py [--quick] [--only airflow|trackflow|trackflow-local|
                                                    trackflow-celery] [--parallelism 8]

Needs PostgreSQL (127.0.0.1:5432, user postgres, trust), Redis (127.0.0.1:6379) and
benchmarks/.work/venv-airflow with the Celery provider (`bash benchmarks/run.sh setup`).
Do not run the full size next to anything heavy: the machine has 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    AIRFLOW_BIN,
    AIRFLOW_PY,
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
    venv_env,
    write_section,
)
from _workloads import HEADER, IMPORTS, W1  # noqa: E402
from bench_pipelines import (  # noqa: E402
    TI,
    AirflowSide,
    TrackflowSide,
    chain_gaps,
    loadavg,
    max_concurrency,
    parse_time,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BASE = "postgresql://postgres@127.0.0.1:5432"
REDIS_BASE = "redis://127.0.0.1:6379"
DB_PREFIX = "bench_scaleout_"
PAUSE = 3.0  # between runs, as in shared/reference/pipeline-workloads.md
TERMINAL_OK = {"success"}
TERMINAL_BAD = {"failed", "error", "upstream_failed"}

W2_MAPPED = '''

@task
def work(x):
    return None


@dag(dag_id="w2_mapped", schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["bench"],
     max_active_tasks={parallelism})
def w2_mapped():
    start = noop.override(task_id="start")()
    join = noop.override(task_id="join")()
    start >> work.expand(x=list(range({n}))) >> join


w2_mapped()
'''
DAG_IDS = {"W1": "w1_chain", "W2m": "w2_mapped"}


def write_dags(system: str, folder: Path, n: int, parallelism: int) -> None:
    """W1 (from _workloads) and W2-mapped; the two systems' files differ only by the import line."""
    folder.mkdir(parents=True, exist_ok=True)
    head = HEADER.format(imports=IMPORTS[system])
    (folder / "w1_chain.py").write_text(head + W1)
    (folder / "w2_mapped.py").write_text(
        head + W2_MAPPED.replace("{n}", str(n)).replace("{parallelism}", str(parallelism)))


# --------------------------------------------------------------------------- PostgreSQL and Redis
def fresh_database(name: str) -> str:
    """Drop and create database `name`; its URI (no driver: each side picks its own)."""
    try:
        import psycopg
    except ImportError:
        raise Unavailable("psycopg missing in .venv (pip install -e '.[postgres,celery]')") from None
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        raise Unavailable(f"PostgreSQL at {PG_ADMIN}: {str(exc).strip()[:200]}") from None
    return f"{PG_BASE}/{name}"


def drop_database(name: str) -> None:
    import psycopg

    with contextlib.suppress(psycopg.Error), psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flushed_redis(db: int) -> str:
    """Empty Redis database `db` (messages a killed run left there must not reach new workers); its URL."""
    try:
        import redis
    except ImportError:
        raise Unavailable("redis missing in .venv (pip install -e '.[postgres,celery]')") from None
    url = f"{REDIS_BASE}/{db}"
    try:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()
    except redis.RedisError as exc:
        raise Unavailable(f"Redis at {url}: {exc}") from None
    return url


def wait_log(svc: Service, needle: str, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if svc.proc is not None and svc.proc.poll() is not None:
            raise Unavailable(f"{svc.name} exited with code {svc.proc.returncode}: {svc.log_tail()}")
        with contextlib.suppress(OSError):
            if needle in svc.log_path.read_text(errors="replace"):
                return
        time.sleep(0.2)
    raise Unavailable(f"{svc.name} did not log {needle!r} within {timeout:.0f} s: {svc.log_tail()}")


class Components:
    """Long-running processes of one side; any of them exiting means the side is broken."""

    def __init__(self) -> None:
        self.services: list[Service] = []

    def start(self, svc: Service) -> Service:
        self.services.append(svc.start())
        return svc

    def problem(self) -> str | None:
        for s in self.services:
            if s.proc is not None and s.proc.poll() is not None:
                return f"{s.name} exited with code {s.proc.returncode}: {s.log_tail(300)}"
        return None

    def stop(self) -> None:
        for s in reversed(self.services):  # workers first, then what they talk to
            s.stop()
        self.services = []


# --------------------------------------------------------------------------- the three sides
class TrackflowPG(TrackflowSide):
    """`trackflow server` on PostgreSQL, local executor or Celery executor with `trackflow worker`s."""

    log_dir = Path(".")  # where its processes' logs are, for failure messages

    def __init__(self, executor: str, parallelism: int, workers: int, redis_db: int, keep_db: bool) -> None:
        super().__init__()
        self.executor = executor
        self.name = f"trackflow-{executor}"
        self.parallelism = parallelism
        self.n_workers = workers
        self.redis_db = redis_db
        self.keep_db = keep_db
        self.db_name = f"{DB_PREFIX}tf_{executor}"
        self.parts = Components()
        conc = max(1, parallelism // workers)
        self.notes = [f"`trackflow server` on PostgreSQL, {executor} executor, parallelism {parallelism}"
                      + (f", {workers} `trackflow worker --concurrency {conc}` (Redis broker and result backend, "
                         f"db {redis_db})" if executor == "celery" else "")]

    def start(self, dags: Path, d: Path) -> float:
        t0 = time.perf_counter()
        uri = fresh_database(self.db_name)
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        env = venv_env(TF_VENV, TRACKFLOW_HOME=str(d / "home"), PYTHONWARNINGS="ignore",
                       TRACKFLOW_PARALLELISM=str(self.parallelism), TRACKFLOW_EXECUTOR=self.executor)
        broker = ""
        if self.executor == "celery":
            broker = flushed_redis(self.redis_db)
            env.update(TRACKFLOW_CELERY_BROKER_URL=broker, TRACKFLOW_SERVER_URL=self.base)
        (d / "artifacts").mkdir(parents=True, exist_ok=True)
        cmd = [str(TF_BIN), "server", "--host", "127.0.0.1", "--port", str(port), "--backend-store-uri", uri,
               "--artifacts-destination", str(d / "artifacts"), "--dags-folder", str(dags)]
        self.svc = self.parts.start(Service("trackflow server", cmd, d / "server.log", env=env, cwd=d))
        for n in range(self.n_workers if self.executor == "celery" else 0):
            home = d / f"worker-{n}"
            home.mkdir(parents=True, exist_ok=True)
            wenv = venv_env(TF_VENV, TRACKFLOW_HOME=str(home), PYTHONWARNINGS="ignore",
                            TRACKFLOW_CELERY_BROKER_URL=broker)
            conc = max(1, self.parallelism // self.n_workers)
            self.parts.start(Service(f"trackflow worker {n}", [
                str(TF_BIN), "worker", "--queues", "default", "--concurrency", str(conc),
                "--name", f"bench-{n}@%h"], home / "worker.log", env=wenv, cwd=home))
        for s in self.parts.services[1:]:
            wait_log(s, " ready.", 120)
        want = set(DAG_IDS.values())
        self.wait_dags(self.svc, lambda ids: want <= ids, 180)
        for dag_id in want:
            if "unpause" in self.routes:
                self.s.post(self.url("unpause", dag_id), timeout=10)
            elif "patch" in self.routes:
                self.s.patch(self.url("patch", dag_id), json={"is_paused": False}, timeout=10)
        return time.perf_counter() - t0

    def state(self, dag_id: str, run_id: str) -> str:
        """From the run list (newest first), not the run's detail: that one carries every task
        instance, 2,000 of them in W2-mapped, which polling would make the server serialize 10 times a second."""
        r = self.s.get(self.url("trigger", dag_id), params={"limit": 5}, timeout=30)
        r.raise_for_status()
        j = r.json()
        for run in j if isinstance(j, list) else j.get("dag_runs", []):
            if str(run.get("run_id", run.get("dag_run_id"))) == run_id:
                return str(run.get("state", "")).lower()
        return ""

    def queued(self, dag_id: str, run_id: str) -> dict[str, float]:
        """task_id -> when the scheduler queued it (epoch s), for unmapped tasks."""
        tis = self._run(dag_id, run_id).get("task_instances") or []
        return {str(t["task_id"]): q for t in tis
                if t.get("map_index", -1) == -1 and (q := parse_time(t.get("queued_at"))) is not None}

    def problem(self) -> str | None:
        return self.parts.problem()

    def stop(self) -> None:
        self.parts.stop()
        self.svc = None
        if self.executor == "celery":
            with contextlib.suppress(Unavailable):
                flushed_redis(self.redis_db)
        if not self.keep_db:
            drop_database(self.db_name)


class AirflowCelery(AirflowSide):
    """Airflow 3.3.2 as deployed for production: api-server, scheduler, dag-processor and Celery
    workers as separate processes, PostgreSQL metadata database, Redis broker."""

    log_dir = Path(".")

    def __init__(self, parallelism: int, workers: int, redis_db: int, n_mapped: int, keep_db: bool) -> None:
        super().__init__()
        self.name = "airflow-celery"
        self.parallelism = parallelism
        self.n_workers = workers
        self.redis_db = redis_db
        self.n_mapped = n_mapped
        self.keep_db = keep_db
        self.db_name = f"{DB_PREFIX}airflow"
        self.parts = Components()
        conc = max(1, parallelism // workers)
        self.notes = [f"Airflow 3.3.2 CeleryExecutor (apache-airflow-providers-celery), PostgreSQL "
                      f"(psycopg2, asyncpg), `api-server` (1 worker), `scheduler`, `dag-processor`, "
                      f"{workers} `airflow celery worker --concurrency {conc}` "
                      f"(Redis broker db {redis_db}, result backend in PostgreSQL); "
                      f"parallelism {parallelism}, max_active_tasks_per_dag {parallelism}, "
                      f"max_map_length {max(1024, n_mapped)}, other settings default"]

    def celery_env(self, d: Path, dags: Path, uri: str, broker: str) -> dict[str, str]:
        api = free_port()
        self.base = f"http://127.0.0.1:{api}"
        conn = uri.replace("postgresql://", "postgresql+psycopg2://", 1)
        return venv_env(
            AIRFLOW_VENV,
            AIRFLOW_HOME=str(d / "home"),
            AIRFLOW__CORE__DAGS_FOLDER=str(dags),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=conn,
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CELERY__BROKER_URL=broker,
            AIRFLOW__CELERY__RESULT_BACKEND="db+" + conn,  # SQLAlchemy 2.1 would pick psycopg 3 by default
            AIRFLOW__CELERY__WORKER_CONCURRENCY=str(max(1, self.parallelism // self.n_workers)),
            AIRFLOW__CORE__PARALLELISM=str(self.parallelism),
            AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG=str(self.parallelism),
            AIRFLOW__CORE__MAX_MAP_LENGTH=str(max(1024, self.n_mapped)),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS="True",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__API__PORT=str(api),
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API__SECRET_KEY=secrets.token_hex(16),
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_hex(32),  # one secret for every component
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{api}/execution/",
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            PYTHONWARNINGS="ignore",
        )

    def start(self, dags: Path, d: Path) -> float:
        t0 = time.perf_counter()
        require(AIRFLOW_PY, "Airflow (venv-airflow)")
        uri = fresh_database(self.db_name)
        broker = flushed_redis(self.redis_db)
        env = self.celery_env(d, dags, uri, broker)
        p = timed_cmd([str(AIRFLOW_PY), "-c", "import airflow.providers.celery, psycopg2, asyncpg"], timeout=120,
                      env=env, cwd=d)[1]
        if p.returncode != 0:
            raise Unavailable("venv-airflow lacks apache-airflow-providers-celery, psycopg2-binary or asyncpg "
                              "(run `bash benchmarks/run.sh setup`)")
        secs, p = timed_cmd([str(AIRFLOW_BIN), "db", "migrate"], timeout=900, env=env, cwd=d)
        if p.returncode != 0:
            raise Unavailable(f"airflow db migrate failed: {(p.stderr or p.stdout)[-400:]}")
        self.notes.append(f"`airflow db migrate` on the fresh database took {secs:.0f} s (not counted)")
        af = str(AIRFLOW_BIN)
        self.svc = self.parts.start(Service("airflow api-server", [af, "api-server"], d / "api-server.log",
                                            env=env, cwd=d))
        self.parts.start(Service("airflow scheduler", [af, "scheduler"], d / "scheduler.log", env=env, cwd=d))
        self.parts.start(Service("airflow dag-processor", [af, "dag-processor"], d / "dag-processor.log",
                                 env=env, cwd=d))
        workers = []
        for n in range(self.n_workers):
            wenv = {**env, "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())}
            workers.append(self.parts.start(Service(
                f"airflow celery worker {n}",
                [af, "celery", "worker", "--queues", "default", "--concurrency",
                 str(max(1, self.parallelism // self.n_workers)), "--celery-hostname", f"bench-{n}@%h"],
                d / f"worker-{n}.log", env=wenv, cwd=d)))
        deadline = time.perf_counter() + 300
        want = set(DAG_IDS.values())
        while time.perf_counter() < deadline:
            why = self.parts.problem()
            if why:
                raise Unavailable(why)
            try:
                h = self.s.get(f"{self.base}/api/v2/monitor/health", timeout=5)
                if h.status_code == 200:
                    hj = h.json()
                    if all(hj.get(k, {}).get("status") == "healthy"
                           for k in ("metadatabase", "scheduler", "dag_processor")):
                        r = self.s.get(f"{self.base}/api/v2/dags", params={"limit": 100}, timeout=5)
                        if r.status_code == 200 and want <= {x["dag_id"] for x in r.json()["dags"]}:
                            break
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.2)
        else:
            raise Unavailable(f"airflow did not become ready in 300 s: {self.svc.log_tail()}")
        for w in workers:
            wait_log(w, " ready.", max(10.0, deadline - time.perf_counter()))
        return time.perf_counter() - t0

    def queued(self, dag_id: str, run_id: str) -> dict[str, float]:
        """task_id -> when the scheduler queued it (epoch s), for unmapped tasks."""
        out: dict[str, float] = {}
        offset = 0
        while True:
            r = self.s.get(f"{self.base}/api/v2/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances",
                           params={"limit": 100, "offset": offset}, timeout=120)
            r.raise_for_status()
            page = r.json()["task_instances"]
            for t in page:
                q = parse_time(t.get("queued_when"))
                if t.get("map_index", -1) == -1 and q is not None:
                    out[str(t["task_id"])] = q
            offset += len(page)
            if not page or offset >= r.json().get("total_entries", 0):
                return out

    def problem(self) -> str | None:
        return self.parts.problem()

    def stop(self) -> None:
        self.parts.stop()
        self.svc = None
        with contextlib.suppress(Unavailable):
            flushed_redis(self.redis_db)
        if not self.keep_db:
            drop_database(self.db_name)


# --------------------------------------------------------------------------- measuring
@dataclass
class Figure:
    wall: Stat = field(default_factory=Stat)
    gaps: Stat = field(default_factory=Stat)  # W1: every gap of every run
    gap_medians: Stat = field(default_factory=Stat)
    to_queued: Stat = field(default_factory=Stat)  # W1: a task's end -> the next one queued (scheduler)
    to_start: Stat = field(default_factory=Stat)  # W1: queued -> started (executor, broker, worker, task start)
    max_running: int = 0
    ok_tasks: list[int] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    load: str = ""

    @property
    def clean(self) -> bool:
        return bool(self.wall.values) and not self.failures


@dataclass
class SideResult:
    name: str
    error: str | None = None
    ready: float | None = None
    figs: dict[str, Figure] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def ti_summary(side: TrackflowPG | AirflowCelery, dag_id: str, run_id: str) -> str:
    """Task instance states of a run that did not succeed, e.g. " (tasks: 22 failed, 180 success; e.g. work)"."""
    try:
        tis = side.task_instances(dag_id, run_id)
    except (requests.RequestException, ValueError, KeyError) as exc:
        return f" (task instances not readable: {type(exc).__name__})"
    counts: dict[str, int] = {}
    for t in tis:
        counts[t.state] = counts.get(t.state, 0) + 1
    bad = [t.task_id for t in tis if t.state in TERMINAL_BAD][:3]
    return (" (tasks: " + ", ".join(f"{n} {st}" for st, n in sorted(counts.items()))
            + (f"; e.g. {', '.join(bad)}" if bad else "") + ")")


def run_one(side: TrackflowPG | AirflowCelery, key: str, fig: Figure, expect: int, timeout: float,
            poll: float) -> None:
    dag_id = DAG_IDS[key]
    t0 = time.perf_counter()
    run_id = side.trigger(dag_id)
    state = ""
    last_check = t0
    while time.perf_counter() - t0 < timeout:
        try:
            state = side.state(dag_id, run_id)
        except (requests.RequestException, ValueError, KeyError):
            state = ""  # a busy API is not a failed run
        if state in TERMINAL_OK or state in TERMINAL_BAD:
            break
        if time.perf_counter() - last_check > 5:
            last_check = time.perf_counter()
            why = side.problem()
            if why:
                state = f"stopped: {why}"
                break
        time.sleep(poll)
    wall = time.perf_counter() - t0
    if state not in TERMINAL_OK:
        fig.failures.append(f"run {run_id} ended '{state or 'timeout'}' after {wall:.1f} s"
                            f"{ti_summary(side, dag_id, run_id)}; logs in {side.log_dir}")
        return
    tis: list[TI] = []
    for attempt in range(3):
        try:
            tis = side.task_instances(dag_id, run_id)
            break
        except (requests.RequestException, ValueError, KeyError) as exc:
            if attempt == 2:
                fig.failures.append(f"run {run_id}: task instances not readable: {exc}")
                return
            time.sleep(2)
    ok = sum(t.state == "success" for t in tis)
    fig.ok_tasks.append(ok)
    if ok != expect:
        others = sorted({t.state for t in tis if t.state != "success"})
        fig.failures.append(f"run {run_id}: {ok} of {expect} tasks success (other states: {others})")
        return
    fig.wall.values.append(wall)
    fig.max_running = max(fig.max_running, max_concurrency(tis))
    if key == "W1":
        g = chain_gaps(tis, "t")
        fig.gaps.values += g
        if g:
            fig.gap_medians.values.append(Stat(g).median)
        try:
            queued = side.queued(dag_id, run_id)
        except (requests.RequestException, ValueError, KeyError):
            queued = {}
        by = {t.task_id: t for t in tis}
        ids = sorted(by)
        for a, b in zip(ids, ids[1:], strict=False):
            end_a, q_b, start_b = by[a].end, queued.get(b), by[b].start
            if end_a is not None and q_b is not None and start_b is not None:
                fig.to_queued.values.append(q_b - end_a)
                fig.to_start.values.append(start_b - q_b)


def measure(side: TrackflowPG | AirflowCelery, sizes: dict, root: Path) -> SideResult:
    res = SideResult(side.name)
    d = root / side.name
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    side.log_dir = d.relative_to(WORK.parent.parent)
    dags = d / "dags"
    write_dags("airflow" if side.name.startswith("airflow") else "trackflow", dags, sizes["n"],
               sizes["parallelism"])
    say(f"[{side.name}] starting ...")
    try:
        res.ready = side.start(dags, d)
        say(f"[{side.name}] ready after {res.ready:.1f} s")
        plan = [("W1", 20, sizes["w1_timeout"], 0.05), ("W2m", sizes["n"] + 2, sizes["w2_timeout"], 0.1)]
        for key, expect, timeout, poll in plan:
            fig = Figure(load=loadavg())
            res.figs[key] = fig
            for _ in range(sizes["reps"]):
                why = side.problem()
                if why:
                    fig.failures.append(f"not run: {why}")
                    break
                time.sleep(PAUSE)
                try:
                    run_one(side, key, fig, expect, timeout, poll)
                except (Unavailable, requests.RequestException, ValueError, KeyError) as exc:
                    fig.failures.append(f"{type(exc).__name__}: {str(exc)[:300]}")
            say(f"[{side.name}] {key}: {fmt_stat(fig.wall)}"
                + (f", gap p50 {fmt_num(fig.gaps.median, 's')}" if fig.gaps.values else "")
                + f", most running at once {fig.max_running}"
                + (f"; {'; '.join(fig.failures[:2])}" if fig.failures else ""))
    except Unavailable as exc:
        say(f"[{side.name}] not available: {exc}")
        res.error = str(exc)[:500]
    finally:
        side.stop()
    res.notes += side.notes
    return res


# --------------------------------------------------------------------------- report
SIDES = ("airflow-celery", "trackflow-local", "trackflow-celery")


def report(rs: dict[str, SideResult], sizes: dict) -> str:
    af, tl, tc = (rs[k] for k in SIDES)

    def fig(r: SideResult, k: str) -> Figure | None:
        return r.figs.get(k) if r.error is None else None

    def wall(r: SideResult, k: str) -> str:
        f = fig(r, k)
        if f is None:
            return "n/a"
        if not f.wall.values:
            return "failed" if f.failures else "n/a"
        return fmt_stat(f.wall) + (" (a run failed)" if f.failures else "")

    def med(r: SideResult, k: str) -> float | None:
        f = fig(r, k)
        return f.wall.median if f is not None and f.clean else None  # a failed run shows no ratio

    def gap(r: SideResult) -> str:
        f = fig(r, "W1")
        if f is None or not f.gaps.values:
            return "n/a"
        return (f"{fmt_num(f.gaps.median, 's')} ({fmt_num(f.gap_medians.lo, 's')}–"
                f"{fmt_num(f.gap_medians.hi, 's')})")

    def gap_p50(r: SideResult) -> float | None:
        f = fig(r, "W1")
        return f.gaps.median if f is not None and f.clean and f.gaps.values else None

    def running(r: SideResult, k: str) -> str:
        f = fig(r, k)
        return str(f.max_running) if f is not None and f.wall.values else "n/a"

    def split(r: SideResult) -> str:
        f = fig(r, "W1")
        if f is None or not f.to_queued.values:
            return "n/a"
        return f"{fmt_num(f.to_queued.median, 's')} + {fmt_num(f.to_start.median, 's')}"

    n, p = sizes["n"], sizes["parallelism"]
    r_c = ratio(med(af, "W2m"), med(tc, "W2m"))
    r_l = ratio(med(af, "W2m"), med(tl, "W2m"))
    rows = [
        [f"W2-mapped: start → work.expand(x=range({n:,})) → join, trigger to success",
         wall(af, "W2m"), wall(tl, "W2m"), wall(tc, "W2m"),
         f"Celery {fmt_ratio(r_c)}, local {fmt_ratio(r_l)}",
         "trackflow Celery > 1x (issue 10 names no number)",
         "n/a" if r_c is None else ("met" if r_c > 1 else "NOT met")],
        ["W2-mapped: most tasks running at once (from the task records)",
         running(af, "W2m"), running(tl, "W2m"), running(tc, "W2m"), "", f"<= {p} (the parallelism)", ""],
        ["W1 chain of 20 no-op tasks, trigger to success", wall(af, "W1"), wall(tl, "W1"), wall(tc, "W1"),
         f"Celery {fmt_ratio(ratio(med(af, 'W1'), med(tc, 'W1')))}, "
         f"local {fmt_ratio(ratio(med(af, 'W1'), med(tl, 'W1')))}", "", ""],
        ["W1 handoff: task end → next task start, p50 over all gaps (range of run medians)",
         gap(af), gap(tl), gap(tc),
         f"Celery {fmt_ratio(ratio(gap_p50(af), gap_p50(tc)))}, local {fmt_ratio(ratio(gap_p50(af), gap_p50(tl)))}",
         "trackflow Celery <= 100 ms; local <= 50 ms",
         f"Celery {at_most(gap_p50(tc), 0.100)}; local {at_most(gap_p50(tl), 0.050)}"],
        ["W1 handoff split, p50s: end → next task queued (scheduler) + queued → started (executor, worker, "
         "task start)", split(af), split(tl), split(tc), "", "", ""],
    ]
    c_l = med(tc, "W2m"), med(tl, "W2m")
    lines = [
        f"Compared: Airflow 3.3.2 with its CeleryExecutor on PostgreSQL (the peer in its production setup) vs "
        f"trackflow on PostgreSQL with the local executor and with the Celery executor. Both Celery sides: Redis "
        f"broker, 2 workers of concurrency {max(1, p // 2)} each; every side: parallelism {p} and the DAG's "
        f"max_active_tasks {p}. The same DAG files with only the import line changed (`airflow.sdk` / "
        f"`trackflow`). A fresh database per side; one run at a time, {PAUSE:.0f} s pause between runs, W1 runs "
        f"first (they also warm the workers); {sizes['reps']} repetition(s) per figure, median (min–max). "
        "Ratios: Airflow Celery's median / trackflow's (>1 = trackflow faster); none when a run of either side "
        "failed.",
        "",
        table(["measure", "Airflow 3.3.2 Celery", "trackflow local", "trackflow Celery",
               "ratio vs Airflow Celery", "target", "verdict"], rows),
        "",
    ]
    if c_l[0] and c_l[1]:
        lines.append(f"- trackflow on W2-mapped: the Celery executor takes {c_l[0] / c_l[1]:.2f}x the local "
                     "executor's wall time.")
    for r in (af, tl, tc):
        if r.error:
            lines.append(f"- {r.name}: not available ({r.error})")
            continue
        loads = ", ".join(f"{k} {f.load}" for k, f in r.figs.items())
        lines.append(f"- {r.name}: " + "; ".join(r.notes)
                     + (f"; ready {r.ready:.1f} s after launch" if r.ready is not None else "")
                     + (f"; load avg 1/5/15 at start: {loads}" if loads else ""))
        for k, f in r.figs.items():
            for msg in f.failures[:3]:
                lines.append(f"- {r.name} {k}: {msg}")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="N=200 mapped tasks, 1 repetition (smoke run)")
    ap.add_argument("--only", choices=["airflow", "trackflow", *SIDES],
                    help="measure one side (or both trackflow sides) only; RESULTS.md untouched")
    ap.add_argument("--parallelism", type=int, default=8,
                    help="scheduler parallelism and DAG max_active_tasks on every side; each of the 2 Celery "
                         "workers gets half of it as concurrency (default 8)")
    ap.add_argument("--redis-db", type=int, default=12,
                    help="Redis database of trackflow's broker; Airflow's uses the next one (default 12)")
    ap.add_argument("--keep-databases", action="store_true", help="leave the PostgreSQL databases for inspection")
    ap.add_argument("--repetitions", type=int, default=None,
                    help="runs per figure at full size (default 3; fewer when the machine's time is short: the "
                         "report states how many)")
    a = ap.parse_args()
    if a.parallelism < 2:
        ap.error("--parallelism must be >= 2 (2 workers)")
    cleanup_on_sigterm()
    for var in [v for v in os.environ if v.startswith(("TRACKFLOW_", "AIRFLOW_", "AIRFLOW__"))]:
        del os.environ[var]  # every process started here gets the settings of its side only
    sizes = (dict(reps=1, n=200, w1_timeout=300, w2_timeout=900) if a.quick
             else dict(reps=a.repetitions or 3, n=2000, w1_timeout=600, w2_timeout=3600))
    sizes["parallelism"] = a.parallelism
    root = WORK / "scaleout"
    makers = {
        "airflow-celery": lambda: AirflowCelery(a.parallelism, 2, a.redis_db + 1, sizes["n"], a.keep_databases),
        "trackflow-local": lambda: TrackflowPG("local", a.parallelism, 2, a.redis_db, a.keep_databases),
        "trackflow-celery": lambda: TrackflowPG("celery", a.parallelism, 2, a.redis_db, a.keep_databases),
    }
    results: dict[str, SideResult] = {}
    for name in SIDES:
        if a.only and not name.startswith(a.only):
            results[name] = SideResult(name, error="skipped (--only)")
            continue
        try:
            results[name] = measure(makers[name](), sizes, root)
        except Unavailable as exc:
            say(f"{name}: not available ({exc})")
            results[name] = SideResult(name, error=str(exc)[:500])
        except Exception as exc:  # one broken side must not lose the others' figures
            say(f"{name}: not available ({type(exc).__name__}: {exc})")
            results[name] = SideResult(name, error=f"{type(exc).__name__}: {str(exc)[:400]}")
    text = report(results, sizes)
    say("\n" + text)
    if not a.only:
        write_section("scaleout", "Scale-out (issue 10): Celery executor vs local vs Airflow 3 CeleryExecutor",
                      text, a.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
