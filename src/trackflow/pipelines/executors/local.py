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

import gc
import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import traceback
from typing import Any

from trackflow.pipelines.executors.base import BaseExecutor, ExecutorEvent, TaskWorkload, WorkloadKey
from trackflow.pipelines.runtime.task_runner import PreparedTry, prepare_try, reset_after_fork, run_workload

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


def fork_task(workload: TaskWorkload, dag: Any = None, quiet_stdio: bool = False, prepare: bool = False) -> int:
    """Fork a child that runs ``workload`` and exits; return the child's pid.

    With ``prepare``, the try's DAG run and tracked run are made here first (see
    ``prepare_try``): this process runs that code warm, the child would run it cold. It pays
    off when no other child is running (``dags test`` of a chain): while children live,
    every page this process writes is copied for it too, and the saving is gone.
    """
    prepared = prepare_try(workload) if prepare else PreparedTry()
    try:
        return _fork(workload, dag, quiet_stdio, prepared)
    except BaseException:
        prepared.discard()
        raise


def _fork(workload: TaskWorkload, dag: Any, quiet_stdio: bool, prepared: PreparedTry) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    # As the gc module's documentation advises before fork() without exec(): move every
    # object into the permanent generation, so that the child's collections don't write to
    # (and so copy) the pages of objects it inherited. The parent pays nothing for it, and
    # its own exit gets cheap (no full collections over them at interpreter shutdown).
    gc.freeze()
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
        code = run_workload(workload, dag=dag, prepared=prepared)
    except BaseException:  # noqa: B036 - the child must always exit here, never return into the parent's code
        traceback.print_exc()
    finally:
        os._exit(code)


class ChildWatcher:
    """Collects the exit statuses of forked children, without a thread per child where the OS
    allows it: on Linux each child is watched through a pidfd, and waiting is one poll() over
    them (plus any other file descriptors given to :meth:`watch_fd`); elsewhere a thread per
    child blocks in waitpid() and wakes the poll() through a pipe. Use it from one thread."""

    def __init__(self) -> None:
        self._poller = select.poll()
        self._pidfds: dict[int, int] = {}  # pidfd -> pid
        self._extra: set[int] = set()
        self._ended: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()  # from fallback threads
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        self._poller.register(self._wake_r, select.POLLIN)

    def watch(self, pid: int) -> None:
        try:
            fd = os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
        except (AttributeError, OSError):  # not Linux >= 5.3
            threading.Thread(target=self._wait_in_thread, args=(pid,), daemon=True, name=f"reap-{pid}").start()
            return
        self._pidfds[fd] = pid
        self._poller.register(fd, select.POLLIN)

    def _wait_in_thread(self, pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        self._ended.put((pid, os.waitstatus_to_exitcode(status)))
        os.write(self._wake_w, b"x")

    def watch_fd(self, fd: int) -> None:
        """Also return from :meth:`wait` when ``fd`` is readable."""
        self._extra.add(fd)
        self._poller.register(fd, select.POLLIN)

    def wait(self, timeout: float | None) -> tuple[list[tuple[int, int]], list[int]]:
        """(pid, exit code) of the children that ended, and the readable :meth:`watch_fd`
        descriptors, waiting up to ``timeout`` seconds (None: no limit) for either."""
        ended: list[tuple[int, int]] = []
        readable: list[int] = []
        try:
            ready = self._poller.poll(None if timeout is None else max(0, int(timeout * 1000)))
        except InterruptedError:
            ready = []
        for fd, _ in ready:
            if fd in self._pidfds:
                pid = self._pidfds.pop(fd)
                self._poller.unregister(fd)
                os.close(fd)
                _, status = os.waitpid(pid, 0)
                ended.append((pid, os.waitstatus_to_exitcode(status)))
            elif fd == self._wake_r:
                try:
                    while os.read(self._wake_r, 4096):
                        pass
                except BlockingIOError:
                    pass
            elif fd in self._extra:
                readable.append(fd)
        while True:
            try:
                ended.append(self._ended.get_nowait())
            except queue.Empty:
                return ended, readable


class ForkExecutor(BaseExecutor):
    """Forks the current process per task try (for ``dags test``: the DAG object is reused).
    Use it from one thread."""

    def __init__(self, parallelism: int = 8, dag: Any = None) -> None:
        super().__init__(parallelism)
        self.dag = dag
        self.watcher = ChildWatcher()
        self.children: dict[WorkloadKey, tuple[int, str]] = {}
        self.by_pid: dict[int, tuple[WorkloadKey, str]] = {}
        self.events: list[ExecutorEvent] = []

    def queue_workload(self, workload: TaskWorkload) -> None:
        pid = fork_task(workload, dag=self.dag, prepare=not self.children)
        self.children[workload.key] = (pid, workload.token)
        self.by_pid[pid] = (workload.key, workload.token)
        self.watcher.watch(pid)

    def _collect(self, timeout: float) -> None:
        for pid, code in self.watcher.wait(timeout)[0]:
            key, token = self.by_pid.pop(pid)
            if self.children.get(key, (None,))[0] == pid:
                del self.children[key]
            self.events.append(ExecutorEvent(key, token, code))

    def poll(self) -> list[ExecutorEvent]:
        self._collect(0)
        events, self.events = self.events, []
        return events

    def wait(self, timeout: float) -> None:
        if not self.events:
            self._collect(timeout)

    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        for pid, (known, known_token) in list(self.by_pid.items()):
            if known == key and token in (None, known_token):
                kill_process_group(pid)

    def running_tries(self) -> dict[WorkloadKey, str]:
        self._collect(0)
        return {key: token for key, (_, token) in self.children.items()}


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

    def health(self) -> dict[str, Any]:
        proc = self.proc
        alive = proc is not None and proc.poll() is None
        out: dict[str, Any] = {"ok": alive, "helper_pid": None if proc is None else proc.pid, "helper_alive": alive}
        if not alive:
            code = None if proc is None else proc.returncode
            out["reason"] = f"the local executor's helper process exited (code {code})"
        return out

    def kill(self, key: WorkloadKey, token: str | None = None) -> None:
        with self.lock:
            known = key in self.inflight or token is not None
        if known:
            self._send({"op": "kill", "key": list(key), "token": token})

    def running_tries(self) -> dict[WorkloadKey, str]:
        with self.lock:
            return dict(self.inflight)

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
