"""Data of the audit log page (admins): the change requests this server answered, newest
first, filtered by user and start time, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass

from trackflow.entities.auth import AuditEntry
from trackflow.pipelines.operations import parse_date
from trackflow.server.services import Services

ENTRIES_PER_PAGE = 100


@dataclass
class AuditPage:
    auth_on: bool  # the log is written only when the server requires sign-in
    username: str
    since: str
    entries: list[AuditEntry]
    older: int | None  # the `before` of the next page, when there may be one


def audit_page(services: Services, username: str = "", since: str = "", before: int | None = None) -> AuditPage:
    """InvalidInput for a ``since`` that is not a date."""
    start = parse_date(since, "since") if since else None
    if not services.settings.auth or services.accounts is None:
        return AuditPage(False, username, since, [], None)
    entries = services.accounts.store.list_audit(username or None, start, ENTRIES_PER_PAGE, before)
    older = entries[-1].id if len(entries) == ENTRIES_PER_PAGE else None
    return AuditPage(True, username, since, entries, older)
