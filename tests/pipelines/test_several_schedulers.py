"""Several schedulers on one PostgreSQL database (active-active, as Airflow's HA schedulers):
three `trackflow scheduler` processes run 200 DAG runs of a 3-task chain. Every task
instance runs exactly once, none is left behind, every run succeeds, the work is shared, and
a pool of 4 slots and max_active_runs hold across the three. Then the limits under the
sharpest race: scheduler loops in separate processes ticking at the same instant."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pipeline_helpers import wait_for

from servers import free_port
from trackflow.config import Settings
from trackflow.entities.pipelines import DagRun
from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload, WorkloadKey
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.scheduler.loop import SchedulerLoop
from trackflow.store.pipeline_base import NewTaskInstance
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore

POSTGRES_ADMIN_URI = "postgresql://postgres@127.0.0.1:5432/postgres"
RUNS, SCHEDULERS, POOL_SLOTS, MAX_ACTIVE_RUNS = 200, 3, 4, 20

DAG_FILE = f'''
import os
import time
from datetime import datetime

from trackflow import dag, task
from trackflow.pipelines.authoring.context import get_current_context


def record(task_id):
    ti = get_current_context()["ti"]
    start = time.time()
    time.sleep(0.02)
    line = f"{{ti.run_id}} {{task_id}} {{ti.try_number}} {{start:.6f}} {{time.time():.6f}}\\n"
    fd = os.open(os.environ["TF_HA_OUT"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@dag(schedule=None, start_date=datetime(2025, 1, 1), max_active_runs={MAX_ACTIVE_RUNS},
     is_paused_upon_creation=False)
def ha_chain():
    @task(pool="ha_pool")
    def a():
        record("a")

    @task(pool="ha_pool")
    def b():
        record("b")

    @task(pool="ha_pool")
    def c():
        record("c")

    a() >> b() >> c()


ha_chain()
'''


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test only."""
    psycopg = pytest.importorskip("psycopg")
    name = f"tf_ha_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(POSTGRES_ADMIN_URI, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL not available: {exc}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URI, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _max_overlap(intervals: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


CELERY_BROKER = "redis://127.0.0.1:6379/12"


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen([sys.executable, "-m", "trackflow", *command], env=env, stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.postgres
@pytest.mark.parametrize(("executor", "kill_one"), [("local", False), ("local", True), ("celery", False)],
                         ids=["all-live", "one-sigkilled", "celery-2-workers"])
def test_three_schedulers_share_200_runs(fresh_postgres: str, tmp_path: Path, executor: str, kill_one: bool) -> None:
    """With ``kill_one``, one scheduler is SIGKILLed a third of the way: the others finish
    everything; a try it had queued whose process never started is queued again once its
    presence expires (so that task instance's only body runs as try 2), nothing runs twice.
    With Celery, the three schedulers send the tries to two `trackflow worker`s, whose task
    processes report through a `trackflow server --no-scheduler` on the same database."""
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    (dags_folder / "ha_chain.py").write_text(DAG_FILE)
    out = tmp_path / "bodies.txt"
    db = Database(fresh_postgres)
    db.upgrade()
    settings = Settings(home=str(tmp_path / "client"), tracking_uri=fresh_postgres, dags_folder=str(dags_folder))
    pipelines = Pipelines(settings, db)
    pipelines.store.set_pool("ha_pool", POOL_SLOTS)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    procs: list[subprocess.Popen[bytes]] = []
    helpers: list[subprocess.Popen[bytes]] = []  # the Celery side: a server and two workers
    logs = [tmp_path / f"scheduler-{i}.log" for i in range(SCHEDULERS)]
    if executor == "celery":
        import redis

        redis.Redis.from_url(CELERY_BROKER).flushdb()
        port = free_port()
        env = {**env, "TRACKFLOW_EXECUTOR": "celery", "TRACKFLOW_CELERY_BROKER_URL": CELERY_BROKER,
               "TRACKFLOW_SERVER_URL": f"http://127.0.0.1:{port}", "TRACKFLOW_PARALLELISM": "8"}
    try:
        if executor == "celery":
            helpers.append(_start(["server", "--no-scheduler", "--port", str(port), "--backend-store-uri",
                                   fresh_postgres], {**env, "TRACKFLOW_HOME": str(tmp_path / "server")},
                                  tmp_path / "server.log"))
            for n in range(2):
                helpers.append(_start(["worker", "--concurrency", "2"],
                                      {**env, "TRACKFLOW_HOME": str(tmp_path / f"worker-{n}"), "TF_HA_OUT": str(out)},
                                      tmp_path / f"worker-{n}.log"))
            wait_for(lambda: all(" ready." in (tmp_path / f"worker-{n}.log").read_text() for n in range(2)),
                     "the workers")
        for i, log in enumerate(logs):
            with open(log, "wb") as fh:
                procs.append(subprocess.Popen(
                    [sys.executable, "-m", "trackflow", "scheduler", "--backend-store-uri", fresh_postgres,
                     "--dags-folder", str(dags_folder)],
                    env={**env, "TRACKFLOW_HOME": str(tmp_path / f"home-{i}"), "TF_HA_OUT": str(out),
                         "TRACKFLOW_QUEUED_TIMEOUT": "5", "PYTHONUNBUFFERED": "1"},
                    stdout=fh, stderr=subprocess.STDOUT))
        wait_for(lambda: "ha_chain" in {d.dag_id for d in pipelines.list_dags()}, "the DAG parsed")
        started = time.monotonic()
        for i in range(RUNS):
            pipelines.trigger("ha_chain", run_id=f"r{i:03d}")

        def done() -> int:
            for proc, log in zip(procs[1:] if kill_one else procs, logs, strict=False):
                assert proc.poll() is None, f"a scheduler exited:\n{log.read_text()[-5000:]}"
            runs = pipelines.store.list_dag_runs("ha_chain", limit=RUNS + 10)
            return sum(r.state in ("success", "failed") for r in runs)

        def finished() -> bool:
            return done() == RUNS

        if kill_one:
            wait_for(lambda: done() >= RUNS // 3, "a third of the runs", limit=600)
            procs[0].kill()
            procs[0].wait(timeout=30)
        wait_for(finished, "200 runs to finish", limit=600)
        elapsed = time.monotonic() - started
    finally:
        for proc in procs + helpers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs + helpers:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()

    runs = pipelines.store.list_dag_runs("ha_chain", limit=RUNS + 10)
    assert Counter(r.state for r in runs) == {"success": RUNS}
    tis = [ti for r in runs for ti in pipelines.store.list_task_instances("ha_chain", r.run_id)]
    assert len(tis) == 3 * RUNS
    assert {ti.state for ti in tis} == {"success"}
    requeued = [ti for ti in tis if ti.try_number != 1]
    assert not requeued or kill_one and {ti.try_number for ti in requeued} == {2}, requeued

    # Each body ran exactly once: one line per (run, task), of its task instance's try.
    lines = [line.split() for line in out.read_text().splitlines()]
    executions = Counter((run_id, task_id) for run_id, task_id, *_ in lines)
    assert len(lines) == 3 * RUNS and set(executions.values()) == {1}
    tries = {(ti.run_id, ti.task_id): str(ti.try_number) for ti in tis}
    assert all(tries[(run_id, task_id)] == try_number for run_id, task_id, try_number, *_ in lines)

    # The work was shared: task instances queued by more than one scheduler, all of them ours.
    pids = {p.pid for p in procs}
    queuers = Counter(ti.queued_by for ti in tis)
    host = socket.gethostname()
    assert all(q is not None and q.startswith(host + ":") and int(q.split(":")[1]) in pids for q in queuers), queuers
    assert len(queuers) > 1, queuers

    # Limits hold across schedulers: the pool's 4 slots, and max_active_runs. Measured from the
    # bodies' own clocks (the stored dates are each scheduler's tick time): a run was active
    # at least from its first body's start to its last body's end.
    assert _max_overlap([(float(s), float(e)) for *_, s, e in lines]) <= POOL_SLOTS
    spans: dict[str, tuple[float, float]] = {}
    for run_id, _, _, s, e in lines:
        first, last = spans.get(run_id, (float(s), float(e)))
        spans[run_id] = (min(first, float(s)), max(last, float(e)))
    assert len(spans) == RUNS and _max_overlap(list(spans.values())) <= MAX_ACTIVE_RUNS
    print(f"\n{RUNS} runs x 3 tasks on {SCHEDULERS} schedulers ({executor}){' (one SIGKILLed)' if kill_one else ''} in "
          f"{elapsed:.1f} s; queued per scheduler: {sorted(queuers.values(), reverse=True)}; queued again: "
          f"{len(requeued)}")
    db.dispose()


# The limits when every scheduler ticks at the same instant ------------------------------------
WIDE_DAG = """
from datetime import datetime

from trackflow import dag, task


@dag(schedule=None, start_date=datetime(2025, 1, 1), max_active_runs=5, max_active_tasks=64,
     is_paused_upon_creation=False)
def wide():
    for i in range(12):
        @task(task_id=f"t{i:02d}", pool="narrow")
        def body():
            pass

        body()


wide()
"""

# One scheduler loop in a process of its own: waits for the agreed instant, ticks once with an
# executor that only records what it is given (so nothing finishes and frees a slot), prints
# how many task instances it queued. A real BaseExecutor, not a patch.
TICK_ONCE = """
import sys, time
from trackflow.config import Settings
from trackflow.pipelines.executors.base import BaseExecutor
from trackflow.pipelines.scheduler.loop import SchedulerLoop
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore

class Recording(BaseExecutor):
    def __init__(self):
        super().__init__(parallelism=1000)
        self.given = []
    def queue_workload(self, workload):
        self.given.append(workload)
    def poll(self):
        return []
    def kill(self, key, token=None):
        pass
    def running_tries(self):
        return {}

uri, start_at = sys.argv[1], float(sys.argv[2])
db = Database(uri)
store = SqlPipelineStore(db)
executor = Recording()
loop = SchedulerLoop(store, executor, Settings(), uri, schedule_runs=False, runs_per_tick=1)
store.dag_hashes(), store.list_dag_runs(limit=1)  # connect before the instant
time.sleep(max(0.0, start_at - time.time()))
loop.tick()
print(len(executor.given))
"""


def _tick_at_once(uri: str, tmp_path: Path, count: int) -> list[int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKFLOW_", "MLFLOW_"))}
    env["TRACKFLOW_HOME"] = str(tmp_path / "ticks")
    start_at = f"{time.time() + 4.0:.3f}"  # after every interpreter has started and connected
    procs = [subprocess.Popen([sys.executable, "-c", TICK_ONCE, uri, start_at], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(count)]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    return [int(stdout.split()[-1]) for stdout, _ in outputs]


@pytest.mark.postgres
def test_pool_and_max_active_runs_hold_when_schedulers_tick_at_once(fresh_postgres: str, tmp_path: Path) -> None:
    dags_folder = tmp_path / "dags"
    dags_folder.mkdir()
    (dags_folder / "wide.py").write_text(WIDE_DAG)
    db = Database(fresh_postgres)
    db.upgrade()
    pipelines = Pipelines(Settings(home=str(tmp_path / "client"), tracking_uri=fresh_postgres,
                                   dags_folder=str(dags_folder)), db)
    pipelines.sync_folder()
    pipelines.store.set_pool("narrow", 0)
    for i in range(30):
        pipelines.trigger("wide", run_id=f"w{i:02d}")

    # 30 queued runs, max_active_runs=5: alone, each of 4 schedulers would start 5.
    assert _tick_at_once(fresh_postgres, tmp_path, 4) == [0, 0, 0, 0]  # the pool has no slots yet
    states = Counter(r.state for r in pipelines.store.list_dag_runs("wide", limit=100))
    assert states == {"running": 5, "queued": 25}, states
    # 5 running runs x 12 ready tasks, a pool of 4 slots, each scheduler claiming one run per
    # tick (runs_per_tick=1): alone, each would queue 4.
    pipelines.store.set_pool("narrow", POOL_SLOTS)
    queued = _tick_at_once(fresh_postgres, tmp_path, 4)
    active = [ti for r in pipelines.store.list_dag_runs("wide", states=["running"], limit=100)
              for ti in pipelines.store.list_task_instances("wide", r.run_id) if ti.state == "queued"]
    assert len(active) == POOL_SLOTS and sum(queued) == POOL_SLOTS, (len(active), queued)
    db.dispose()


# A queued try whose process never started ------------------------------------------------------
class Idle(BaseExecutor):
    """Knows no task process (another scheduler's executor would hold the try)."""

    def queue_workload(self, workload: TaskWorkload) -> None:
        raise AssertionError("nothing is queued in this test")

    def poll(self) -> list[ExecutorEvent]:
        return []

    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        pass

    def running_tries(self) -> dict[WorkloadKey, str]:
        return {}


@pytest.mark.postgres
def test_a_stuck_queued_try_is_requeued_only_once_its_scheduler_is_gone(fresh_postgres: str) -> None:
    """Another live scheduler's executor may still hold a try queued long ago (a Celery backlog):
    only that scheduler re-queues it, or anyone once its presence has expired."""
    db = Database(fresh_postgres)
    db.upgrade()
    store = SqlPipelineStore(db)
    queued_at = datetime(2025, 1, 1, tzinfo=UTC)
    store.create_dag_run(DagRun("d", "r", "running", "manual", queued_at, queued_at, queued_at, queued_at,
                                queued_at=queued_at), [NewTaskInstance("t")])
    other = "elsewhere:1:0123abcd"
    [ti] = store.queue_task_instances("d", "r", [("t", -1)], queued_at, queued_by=other)
    loop = SchedulerLoop(store, Idle(), Settings(), fresh_postgres, schedule_runs=False, queued_timeout=120)
    later = queued_at + timedelta(seconds=300)
    store.beat_scheduler(other, later, ttl_seconds=15)
    loop.check_liveness(later)
    assert store.get_task_instance("d", "r", "t").state == "queued"  # its scheduler lives: not ours to judge
    loop.check_liveness(later + timedelta(seconds=16))  # its presence expired
    assert store.get_task_instance("d", "r", "t").state == "scheduled"
    db.dispose()
