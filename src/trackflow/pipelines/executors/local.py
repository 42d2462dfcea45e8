"""Local executors: every task try runs in a process of its own on this machine.

Task processes are forked, not spawned: a fork of a process that already imported
trackflow (and, for ``dags test``, the DAG file) starts in about a millisecond instead of
the ~300 ms a fresh interpreter needs. Each one gets its own session (process group), so
killing it also stops what it started (e.g. a BashOperator's command).

* :class:`LocalExecutor` (scheduler/server): forks from a small helper process (the
  "zygote", ``python -m trackflow.pipelines.executors.zygote``) started once, so no user
  code ever runs in the scheduler's process and forking never copies its threads.
* :class:`ForkExecutor` (``dags test``): forks the calling process, which holds the DAG.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import traceback
from typing import Any

from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload, WorkloadKey
from trackflow.pipelines.runtime.task_runner import reset_after_fork, run_workload

KILL_GRACE_SECONDS = 5.0


def kill_process_group(pid: int, grace: float = KILL_GRACE_SECONDS) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL it after ``grace`` seconds if still alive."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return

    def force() -> None:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    timer = threading.Timer(grace, force)
    timer.daemon = True
    timer.start()


def fork_task(workload: TaskWorkload, dag: Any = None, quiet_stdio: bool = False) -> int:
    """Fork a child that runs ``workload`` and exits; return the child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.setsid()
        if quiet_stdio:  # the zygote's stdin/stdout carry its protocol: keep them clean
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(2, 1)
            os.close(devnull)
        reset_after_fork()
        code = run_workload(workload, dag=dag)
    except BaseException:  # noqa: B036 - the child must always exit here, never return into the parent's code
        traceback.print_exc()
    finally:
        os._exit(code)


class _Reaper:
    """Waits for forked children in threads and queues their exit events."""

    def __init__(self) -> None:
        self.events: queue.Queue[ExecutorEvent] = queue.Queue()
        self.children: dict[WorkloadKey, tuple[int, str]] = {}
        self.lock = threading.Lock()

    def watch(self, pid: int, key: WorkloadKey, token: str) -> None:
        with self.lock:
            self.children[key] = (pid, token)

        def wait() -> None:
            _, status = os.waitpid(pid, 0)
            with self.lock:
                if self.children.get(key, (None,))[0] == pid:
                    del self.children[key]
            self.events.put(ExecutorEvent(key, token, os.waitstatus_to_exitcode(status)))

        threading.Thread(target=wait, daemon=True, name=f"reap-{pid}").start()

    def drain(self) -> list[ExecutorEvent]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        self.events.put(event)


class ForkExecutor(BaseExecutor):
    """Forks the current process per task try (for ``dags test``: the DAG object is reused)."""

    def __init__(self, parallelism: int = 8, dag: Any = None) -> None:
        super().__init__(parallelism)
        self.dag = dag
        self.reaper = _Reaper()

    def queue_workload(self, workload: TaskWorkload) -> None:
        pid = fork_task(workload, dag=self.dag)
        self.reaper.watch(pid, workload.key, workload.token)

    def poll(self) -> list[ExecutorEvent]:
        return self.reaper.drain()

    def wait(self, timeout: float) -> None:
        self.reaper.wait(timeout)

    def kill(self, key: WorkloadKey) -> None:
        with self.reaper.lock:
            entry = self.reaper.children.get(key)
        if entry is not None:
            kill_process_group(entry[0])

    def running(self) -> set[WorkloadKey]:
        with self.reaper.lock:
            return set(self.reaper.children)


class LocalExecutor(BaseExecutor):
    """Runs task tries as forks of the zygote helper process (see the module docstring)."""

    def __init__(self, parallelism: int = 8) -> None:
        super().__init__(parallelism)
        self.proc: subprocess.Popen[str] | None = None
        self.events: queue.Queue[ExecutorEvent] = queue.Queue()
        self.inflight: dict[WorkloadKey, str] = {}
        self.lock = threading.Lock()
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trackflow.pipelines.executors.zygote"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True, name="zygote-reader")
        self.reader.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "exited":
                key = tuple(msg["key"])
                with self.lock:
                    if self.inflight.get(key) == msg["token"]:  # type: ignore[call-overload]
                        del self.inflight[key]  # type: ignore[arg-type]
                self.events.put(ExecutorEvent(key, msg["token"], int(msg["code"])))  # type: ignore[arg-type]
        # The zygote is gone: its children live on and report through the store; forget them
        # so that liveness checks (heartbeats) take over.
        with self.lock:
            self.inflight.clear()

    def _send(self, msg: dict[str, Any]) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()

    def queue_workload(self, workload: TaskWorkload) -> None:
        with self.lock:
            self.inflight[workload.key] = workload.token
        self._send({"op": "run", "workload": workload.to_json()})

    def poll(self) -> list[ExecutorEvent]:
        out = []
        while True:
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float) -> None:
        try:
            event = self.events.get(timeout=timeout)
        except queue.Empty:
            return
        self.events.put(event)

    def kill(self, key: WorkloadKey) -> None:
        with self.lock:
            known = key in self.inflight
        if known:
            self._send({"op": "kill", "key": list(key)})

    def running(self) -> set[WorkloadKey]:
        with self.lock:
            return set(self.inflight)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                try:
                    self.proc.stdin.close()
                except OSError:
                    pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
