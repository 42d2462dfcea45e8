"""What ``GET /health`` reports: the database, and the scheduler and executor of this process."""

from __future__ import annotations

from typing import Any

from trackflow.errors import TrackflowError
from trackflow.store.sql.database import Database


def database_health(db: Database) -> dict[str, Any]:
    """Whether one round trip to the database succeeds (``reason`` says why not)."""
    try:
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1")
    except TrackflowError as exc:
        return {"ok": False, "reason": exc.message}
    except Exception as exc:  # the driver's own error: name it, the probe must answer
        return {"ok": False, "reason": f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"}
    return {"ok": True}


def health_report(db: Database, service: Any | None) -> dict[str, Any]:
    """``{"ok", "failing", "database", "scheduler", "executor"}``; ``failing`` names each part
    that is not ok with its reason. ``service`` is the PipelineService this process runs
    (None with ``--no-scheduler``: then only the database counts)."""
    parts: dict[str, dict[str, Any]] = {"database": database_health(db)}
    if service is None:
        parts["scheduler"] = {"ok": True, "running": False}
        parts["executor"] = {"ok": True, "started": False}
    else:
        parts.update(service.health())
    failing = [f"{name}: {part['reason']}" for name, part in parts.items() if not part["ok"]]
    return {"ok": not failing, "failing": failing, **parts}
