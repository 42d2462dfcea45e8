"""Browser sessions and failed sign-ins on SQLAlchemy Core (SQLite and PostgreSQL). Kept in the
database rather than in a process so that every worker of ``trackflow server --workers K`` (and
every replica on one PostgreSQL) sees the same sessions and counts the same failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from trackflow.entities.auth import User, UserSession
from trackflow.errors import NotFound
from trackflow.store.sql.auth_tables import login_failures, user_sessions, users
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import from_ms, to_ms


def _session(row: object) -> UserSession:
    r = row
    return UserSession(r.id, r.username, from_ms(r.created_at), from_ms(r.last_seen_at),  # type: ignore[attr-defined,arg-type]
                       r.client, r.user_agent, r.method, r.csrf)  # type: ignore[attr-defined]


class SqlSessionStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Sessions ----------------------------------------------------------------------------
    def create_session(self, session: UserSession, expired_before: datetime) -> None:
        """Keep ``session``; sessions created before ``expired_before`` are dropped on the way.
        NotFound for an unknown user."""
        with self.db.write() as conn:
            if conn.execute(select(users.c.username).where(users.c.username == session.username)).first() is None:
                raise NotFound(f"user {session.username!r} does not exist")
            conn.execute(delete(user_sessions).where(user_sessions.c.created_at < to_ms(expired_before)))
            conn.execute(insert(user_sessions).values(
                id=session.id, username=session.username, created_at=to_ms(session.created_at),
                last_seen_at=to_ms(session.last_seen_at), client=session.client[:64],
                user_agent=session.user_agent[:300], method=session.method, csrf=session.csrf))

    def session_user(self, session_id: str) -> tuple[UserSession, User] | None:
        """A live session and its user, or None (revoked, or never made)."""
        with self.db.read() as conn:
            row = conn.execute(select(user_sessions, users.c.is_admin, users.c.user_id,
                                      users.c.created_at.label("user_created_at"))
                               .join(users, users.c.username == user_sessions.c.username)
                               .where(user_sessions.c.id == session_id)).first()
        if row is None:
            return None
        return _session(row), User(row.username, bool(row.is_admin), from_ms(row.user_created_at), row.user_id)

    def touch(self, session_id: str, now: datetime) -> None:
        """Note that the session was used at ``now``."""
        with self.db.write() as conn:
            conn.execute(update(user_sessions).where(user_sessions.c.id == session_id)
                         .values(last_seen_at=to_ms(now)))

    def list_sessions(self, username: str | None = None, created_after: datetime | None = None) -> list[UserSession]:
        """Sessions (of one user), newest first; only those made after ``created_after``."""
        query = select(user_sessions).order_by(user_sessions.c.created_at.desc(), user_sessions.c.id)
        if username is not None:
            query = query.where(user_sessions.c.username == username)
        if created_after is not None:
            query = query.where(user_sessions.c.created_at >= to_ms(created_after))
        with self.db.read() as conn:
            return [_session(r) for r in conn.execute(query)]

    def revoke_session(self, session_id: str) -> UserSession:
        """End one session (its cookie is refused from now on). NotFound for an unknown id."""
        with self.db.write() as conn:
            row = conn.execute(select(user_sessions).where(user_sessions.c.id == session_id)).first()
            if row is None:
                raise NotFound(f"session {session_id!r} does not exist")
            conn.execute(delete(user_sessions).where(user_sessions.c.id == session_id))
        return _session(row)

    # Failed sign-ins ---------------------------------------------------------------------
    def failures_since(self, key: str, since: datetime, limit: int) -> list[datetime]:
        """The times of ``key``'s failures from ``since`` on, newest first, at most ``limit``."""
        with self.db.read() as conn:
            rows = conn.execute(select(login_failures.c.at).where(
                login_failures.c.key == key, login_failures.c.at >= to_ms(since))
                .order_by(login_failures.c.at.desc()).limit(limit)).all()
        return [from_ms(r.at) for r in rows]  # type: ignore[misc]

    def record_failure(self, keys: list[str], now: datetime, window: timedelta) -> None:
        """One failure of each key at ``now``; failures older than ``window`` are dropped."""
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.at < to_ms(now - window)))
            conn.execute(insert(login_failures), [{"key": k[:300], "at": to_ms(now)} for k in keys])

    def clear_failures(self, key: str) -> None:
        with self.db.write() as conn:
            conn.execute(delete(login_failures).where(login_failures.c.key == key))
