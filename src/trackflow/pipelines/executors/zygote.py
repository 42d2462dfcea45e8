"""The local executor's helper process: reads workloads (JSON lines) on stdin, forks one
child per task try, reports each child's exit on stdout. Imports trackflow's runtime once
so each fork starts warm. When stdin closes (the scheduler stopped or was killed) it exits
and leaves running tasks alone: they finish and record their results themselves."""

from __future__ import annotations

import json
import os
import sys
import threading

from trackflow.pipelines.executors.base import TaskWorkload
from trackflow.pipelines.executors.local import fork_task, kill_process_group
from trackflow.pipelines.runtime import task_runner
from trackflow.store.sql.pipeline_store import SqlPipelineStore


def main() -> int:
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # nothing but protocol lines on the real stdout
    write_lock = threading.Lock()
    children: dict[tuple[str, str, str, int], int] = {}
    opened: set[str] = set()

    def emit(msg: dict[str, object]) -> None:
        with write_lock:
            out.write(json.dumps(msg) + "\n")
            out.flush()

    def reap(pid: int, key: tuple[str, str, str, int], token: str) -> None:
        _, status = os.waitpid(pid, 0)
        if children.get(key) == pid:
            children.pop(key, None)
        emit({"event": "exited", "key": list(key), "token": token, "code": os.waitstatus_to_exitcode(status)})

    for line in sys.stdin:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if msg.get("op") == "run":
            workload = TaskWorkload.from_json(msg["workload"])
            if workload.db_uri not in opened:
                # Migrate/open once here, and close the connections so no child inherits them.
                db = task_runner.open_db(workload.db_uri)
                SqlPipelineStore(db).warm_up()
                db.engine.dispose()
                opened.add(workload.db_uri)
            pid = fork_task(workload, quiet_stdio=True)
            children[workload.key] = pid
            emit({"event": "started", "key": list(workload.key), "pid": pid})
            threading.Thread(target=reap, args=(pid, workload.key, workload.token), daemon=True).start()
        elif msg.get("op") == "kill":
            target = children.get(tuple(msg["key"]))  # type: ignore[arg-type]
            if target is not None:
                kill_process_group(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
