"""The local executor's helper process: reads workloads (JSON lines) on stdin, forks one
child per task try, reports each child's exit on stdout. Imports trackflow's runtime once
so each fork starts warm. When stdin closes (the scheduler stopped or was killed) it exits
and leaves running tasks alone: they finish and record their results themselves."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from trackflow.config import Settings
from trackflow.pipelines.executors.base import TaskWorkload
from trackflow.pipelines.executors.local import ChildWatcher, fork_task, kill_process_group
from trackflow.pipelines.runtime import task_runner
from trackflow.store.sql.pipeline_store import SqlPipelineStore


def main() -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # nothing but protocol lines on the real stdout
    children: dict[tuple[str, str, str, int], int] = {}
    started: dict[int, tuple[tuple[str, str, str, int], str]] = {}  # pid -> (key, token)
    opened: set[str] = set()
    # One thread does everything (no thread per child): the process forks, and forking a
    # process with threads is best avoided.
    watcher = ChildWatcher()
    watcher.watch_fd(0)
    pending = b""

    def emit(msg: dict[str, object]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    def handle(msg: dict[str, Any]) -> None:
        if msg.get("op") == "run":
            workload = TaskWorkload.from_json(msg["workload"])
            if workload.db_uri not in opened:
                # Migrate/open once here, and close the connections so no child inherits them.
                db = task_runner.open_db(workload.db_uri)
                tracking_uri = Settings(**workload.settings).resolved_tracking_uri
                SqlPipelineStore(db).warm_up(with_tracking=tracking_uri == workload.db_uri)
                db.engine.dispose()
                opened.add(workload.db_uri)
            pid = fork_task(workload, quiet_stdio=True)
            children[workload.key] = pid
            started[pid] = (workload.key, workload.token)
            watcher.watch(pid)
            emit({"event": "started", "key": list(workload.key), "pid": pid})
        elif msg.get("op") == "kill":
            key, token = tuple(msg["key"]), msg.get("token")
            for pid, (known, known_token) in list(started.items()):
                if known == key and token in (None, known_token):
                    kill_process_group(pid)

    while True:
        ended, readable = watcher.wait(None)
        for pid, code in ended:
            key, token = started.pop(pid)
            if children.get(key) == pid:
                children.pop(key, None)
            emit({"event": "exited", "key": list(key), "token": token, "code": code})
        if not readable:
            continue
        data = os.read(0, 65536)
        if not data:
            return 0  # the scheduler went away: running tasks finish on their own
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            handle(msg)


if __name__ == "__main__":
    sys.exit(main())
