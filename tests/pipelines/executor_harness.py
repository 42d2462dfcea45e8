"""A pipeline deployment for tests, on either executor, on real processes: the scheduler
service (with short timings), the server's app in a thread (its task API is what Celery
workers talk to), and `trackflow worker` subprocesses on a real broker (Redis or RabbitMQ)."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from pipeline_helpers import wait_for

from servers import ThreadServer
from trackflow.config import Settings
from trackflow.pipelines.operations import Pipelines
from trackflow.pipelines.service import PipelineService, ServiceOptions
from trackflow.server.app import create_app

BROKERS = {
    "redis": "redis://127.0.0.1:6379/9",  # a database of its own, emptied by each deployment
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
FAST = ServiceOptions(parse_interval=0.5, idle_poll=0.1, busy_poll=0.02, heartbeat_interval=1.0,
                      heartbeat_timeout=30.0, queued_timeout=60.0)


def purge(broker_url: str, queues: tuple[str, ...]) -> None:
    """Drop messages a previous test left in the broker (their server is gone)."""
    from trackflow.pipelines.executors.celery import celery_app

    app = celery_app(Settings(celery_broker_url=broker_url))
    try:
        if broker_url.startswith("redis://"):
            with app.connection_for_write() as conn:
                conn.default_channel.client.flushdb()
            return
        for name in queues:
            with app.connection_for_write() as conn:
                try:
                    conn.default_channel.queue_purge(name)
                except Exception:  # the queue does not exist yet
                    pass
    finally:
        app.close()


@dataclass
class Worker:
    """One `trackflow worker` process (its pool children and task processes below it)."""

    proc: subprocess.Popen[bytes]
    log: Path

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the worker exited ({self.proc.returncode}):\n{self.log.read_text()[-3000:]}")
        return " ready." in self.log.read_text()

    def sigkill(self, with_tasks: bool) -> list[int]:
        """SIGKILL the worker and its pool; with ``with_tasks`` its task processes too (the
        machine died), else they are left running (only the worker died). Returns the pids killed."""
        root = psutil.Process(self.proc.pid)
        victims = [root, *root.children(recursive=True)]
        if not with_tasks:
            victims = [p for p in victims if os.getpgid(p.pid) == os.getpgid(root.pid)]
        for p in victims:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(timeout=10)
        return [p.pid for p in victims]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


@dataclass
class Deployment:
    settings: Settings
    service: PipelineService
    pipelines: Pipelines
    workers: list[Worker] = field(default_factory=list)
    server_url: str = ""

    def start_worker(self, home: Path, queues: str = "default", concurrency: int = 2) -> Worker:
        home.mkdir(parents=True, exist_ok=True)
        log = home / "worker.log"
        env = {**os.environ, "TRACKFLOW_HOME": str(home)}
        env.pop("TRACKFLOW_TRACKING_URI", None)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "trackflow", "worker", "--queues", queues, "--concurrency", str(concurrency),
                 "--broker-url", self.settings.celery_broker_url],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )
        worker = Worker(proc, log)
        self.workers.append(worker)
        wait_for(worker.ready, f"worker on {queues} to be ready")
        return worker

    def run_to_end(self, dag_id: str, run_id: str, limit: float = 120.0) -> str:
        p = self.pipelines
        self.service.wake()
        wait_for(lambda: p.store.get_dag_run(dag_id, run_id).state in ("success", "failed"), f"{run_id} to end",
                 limit)
        wait_for(lambda: not self.service.executor.running(), "task processes to exit")
        return p.store.get_dag_run(dag_id, run_id).state


@contextmanager
def deployment(settings: Settings, executor: str, options: ServiceOptions = FAST, workers: int = 1,
               dag_ids: tuple[str, ...] = (), queues: tuple[str, ...] = ("default",)) -> Iterator[Deployment]:
    """``executor``: "local", "celery-redis" or "celery-rabbitmq"."""
    with ExitStack() as stack:
        server_url = ""
        if executor.startswith("celery"):
            broker = BROKERS[executor.removeprefix("celery-")]
            purge(broker, queues)
            server = stack.enter_context(ThreadServer(create_app(settings)))
            server_url = server.url
            settings = dataclasses.replace(settings, executor="celery", celery_broker_url=broker,
                                           server_url=server.url)
        service = PipelineService(settings, options=options)
        service.start()
        stack.callback(service.stop)
        d = Deployment(settings, service, Pipelines(settings), server_url=server_url)
        stack.callback(lambda: [w.stop() for w in d.workers])
        if executor.startswith("celery"):
            for n in range(workers):
                d.start_worker(Path(settings.home_path).parent / f"worker-{n}")
        if dag_ids:
            wait_for(lambda: set(dag_ids) <= {r.dag_id for r in d.pipelines.list_dags()}, "parsing")
            for dag_id in dag_ids:
                d.pipelines.set_paused(dag_id, False)
        yield d
