"""A user's timetable (a subclass of authoring/timetable_api.Timetable), asked out of process.

The scheduler and the server hold only a DAG's serialized timetable (class import path and
``serialize()`` output). To know the next scheduled run, a manual run's data interval or the
runs of a backfill, they run ``python -m trackflow.pipelines.custom_timetables`` with the
question as JSON on stdin: the child imports the class (with the Airflow import shim if the DAG
was parsed with it, the DAG file's folder on sys.path as when it was parsed), rebuilds it with
``deserialize()``, calls it with pendulum datetimes and answers one JSON line. A timetable that
raises, hangs (TIMEOUT_SECONDS) or kills its interpreter fails that question only, with an
InvalidInput naming the class. Where the DAG file is already loaded (a task process), the
user's object is called directly, through the same :func:`answer`.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import traceback
from datetime import datetime
from typing import Any

from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.timetable_api import DagRunInfo as UserRunInfo
from trackflow.pipelines.authoring.timetable_api import DataInterval, TimeRestriction

TIMEOUT_SECONDS = 60
MAX_BACKFILL_RUNS = 10_000


def _pendulum(value: datetime | None) -> Any:
    if value is None:
        return None
    import pendulum

    return pendulum.instance(value)


def _aware(value: Any, what: str, name: str) -> str:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"timetable {name} returned {what} {value!r}: it must be an aware datetime")
    return value.isoformat()


def _info(info: Any, name: str) -> dict[str, Any] | None:
    """A DagRunInfo from the user's timetable as plain JSON."""
    if info is None:
        return None
    if not isinstance(info, UserRunInfo):
        raise InvalidInput(f"timetable {name} returned {info!r}: next_dagrun_info must return a DagRunInfo or None")
    interval = info.data_interval or DataInterval.exact(info.run_after)
    return {"run_after": _aware(info.run_after, "run_after", name),
            "start": _aware(interval.start, "a data interval start", name),
            "end": _aware(interval.end, "a data interval end", name),
            "partition_key": info.partition_key,
            "partition_date": None if info.partition_date is None else _aware(info.partition_date, "partition_date",
                                                                              name)}


def _restriction(data: dict[str, Any]) -> TimeRestriction:
    return TimeRestriction(_pendulum(_date(data.get("earliest"))), _pendulum(_date(data.get("latest"))),
                           bool(data.get("catchup")))


def _date(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def answer(user: Any, question: dict[str, Any]) -> Any:
    """Ask the user's timetable object one question (JSON in, JSON out):
    ``{"op": "next", "last": [start, end] | None, "restriction": {...}}`` -> an info or None;
    ``{"op": "manual", "run_after": iso}`` -> an info; ``{"op": "between", "start", "end"}``
    -> the infos of every scheduled run with a logical date in [start, end] (for backfills)."""
    name = type(user).__qualname__
    op = question["op"]
    if op == "next":
        given = question.get("last")
        interval = None if given is None else DataInterval(_pendulum(_date(given[0])), _pendulum(_date(given[1])))
        return _info(user.next_dagrun_info(last_automated_data_interval=interval,
                                           restriction=_restriction(question["restriction"])), name)
    if op == "manual":
        run_after = _pendulum(_date(question["run_after"]))
        interval = user.infer_manual_data_interval(run_after=run_after)
        if not isinstance(interval, DataInterval):
            raise InvalidInput(f"timetable {name} returned {interval!r}: infer_manual_data_interval must return a "
                               "DataInterval")
        return _info(UserRunInfo(run_after=run_after, data_interval=interval), name)
    if op == "between":
        start, end = _pendulum(_date(question["start"])), _pendulum(_date(question["end"]))
        restriction = TimeRestriction(start, end, True)
        infos: list[dict[str, Any]] = []
        last: DataInterval | None = None
        while len(infos) < MAX_BACKFILL_RUNS:
            found = _info(user.next_dagrun_info(last_automated_data_interval=last, restriction=restriction), name)
            if found is None or datetime.fromisoformat(found["start"]) > end:
                break
            if last is not None and datetime.fromisoformat(found["start"]) <= last.start:
                raise InvalidInput(f"timetable {name} returned the same run twice ({found['start']}): "
                                   "next_dagrun_info must move forward")
            infos.append(found)
            last = DataInterval(_pendulum(_date(found["start"])), _pendulum(_date(found["end"])))
        return infos
    raise InvalidInput(f"unknown timetable question {op!r}")


def load_class(timetable: dict[str, Any]) -> type:
    """The user's timetable class named by a serialized custom timetable, imported as when its
    DAG file was parsed."""
    if timetable.get("airflow_imports"):
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.install()
    module_name, qualname, fileloc = timetable["module"], timetable["qualname"], timetable.get("fileloc") or ""
    if fileloc:
        from trackflow.pipelines import dagbag

        folder = os.path.dirname(fileloc)
        if folder not in sys.path:
            sys.path.append(folder)
        from trackflow.pipelines.authoring import airflow_shim

        airflow_shim.add_dags_folder(folder)
        if module_name.startswith("trackflow_dag_"):  # defined in the DAG file itself
            result = dagbag.load_file(fileloc)
            if module_name not in sys.modules:
                raise InvalidInput(f"DAG file {fileloc} failed to load:\n{result.error}")
    value: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        value = getattr(value, part)
    return value  # type: ignore[no-any-return]


def ask(timetable: dict[str, Any], question: dict[str, Any]) -> Any:
    """Ask the serialized custom ``timetable`` one question in a child process (see :func:`answer`);
    InvalidInput naming the class when it fails."""
    name = f"{timetable.get('module')}.{timetable.get('qualname')}"
    if str(timetable.get("module")).startswith("trackflow_dag_"):  # defined in the DAG file
        name = f"{timetable.get('qualname')} of {timetable.get('fileloc')}"
    try:
        proc = subprocess.run([sys.executable, "-m", "trackflow.pipelines.custom_timetables"],
                              input=json.dumps({"timetable": timetable, "question": question}),
                              capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"timetable {name} did not answer within {TIMEOUT_SECONDS} s") from None
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    reply = json.loads(lines[-1]) if proc.returncode == 0 and lines else None
    if reply is None or "error" in reply:
        detail = reply["error"] if reply else (proc.stderr.strip()[-2000:] or f"exit code {proc.returncode}")
        raise InvalidInput(f"timetable {name} failed: {detail}")
    return reply["answer"]


def main() -> int:
    # What the timetable's module prints must not corrupt the answer: stdout goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    request = json.loads(sys.stdin.read())
    try:
        cls = load_class(request["timetable"])
        user = cls.deserialize(request["timetable"].get("params") or {})  # type: ignore[attr-defined]
        reply: dict[str, Any] = {"answer": answer(user, request["question"])}
    except InvalidInput as exc:
        reply = {"error": exc.message}
    except Exception as exc:
        traceback.print_exc()  # on stderr, for whoever runs it by hand
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(reply) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
