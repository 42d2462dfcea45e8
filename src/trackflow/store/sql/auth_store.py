"""Users and API tokens on SQLAlchemy Core (SQLite and PostgreSQL). Hashing happens above
(auth/credentials.py): this store keeps and finds hashes, it never sees a secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trackflow.entities.auth import ApiToken, AuditEntry, User
from trackflow.errors import AlreadyExists, NotFound
from trackflow.store.sql.auth_tables import audit, tokens, users
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import from_ms, to_ms


def _user(row: object) -> User:
    return User(row.username, bool(row.is_admin), from_ms(row.created_at))  # type: ignore[attr-defined]


def _token(row: object) -> ApiToken:
    return ApiToken(row.id, row.username, row.name, from_ms(row.created_at),  # type: ignore[attr-defined]
                    from_ms(row.revoked_at))  # type: ignore[attr-defined]


class SqlAuthStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # Users -------------------------------------------------------------------------------
    def create_user(self, username: str, password_hash: str, is_admin: bool, now: datetime) -> User:
        """AlreadyExists if the name is taken."""
        try:
            with self.db.write() as conn:
                conn.execute(insert(users).values(username=username, password_hash=password_hash,
                                                  is_admin=is_admin, created_at=to_ms(now)))
        except IntegrityError:
            raise AlreadyExists(f"user {username!r} already exists") from None
        return User(username, is_admin, now)

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def password_hash(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash, or None for an unknown name."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else (_user(row), row.password_hash)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self.db.write() as conn:
            changed = conn.execute(update(users).where(users.c.username == username)
                                   .values(password_hash=password_hash)).rowcount
        if not changed:
            raise NotFound(f"user {username!r} does not exist")

    def delete_user(self, username: str) -> None:
        """NotFound for an unknown name; the user's tokens go with them."""
        with self.db.write() as conn:
            conn.execute(delete(tokens).where(tokens.c.username == username))
            if not conn.execute(delete(users).where(users.c.username == username)).rowcount:
                raise NotFound(f"user {username!r} does not exist")

    # Tokens ------------------------------------------------------------------------------
    def create_token(self, username: str, name: str, token_hash: str, now: datetime) -> ApiToken:
        token_id = uuid.uuid4().hex
        with self.db.write() as conn:
            if conn.execute(select(users.c.username).where(users.c.username == username)).first() is None:
                raise NotFound(f"user {username!r} does not exist")
            conn.execute(insert(tokens).values(id=token_id, username=username, name=name, token_hash=token_hash,
                                               created_at=to_ms(now)))
        return ApiToken(token_id, username, name, now)

    def list_tokens(self, username: str | None = None) -> list[ApiToken]:
        query = select(tokens).order_by(tokens.c.created_at, tokens.c.id)
        if username is not None:
            query = query.where(tokens.c.username == username)
        with self.db.read() as conn:
            return [_token(r) for r in conn.execute(query)]

    def user_of_token(self, token_hash: str) -> User | None:
        """The user a live (not revoked) token belongs to."""
        with self.db.read() as conn:
            row = conn.execute(select(users).join(tokens, tokens.c.username == users.c.username).where(
                tokens.c.token_hash == token_hash, tokens.c.revoked_at.is_(None))).first()
        return None if row is None else _user(row)

    def revoke_token(self, token_id: str, now: datetime) -> ApiToken:
        """NotFound for an unknown id; revoking twice keeps the first time."""
        with self.db.write() as conn:
            conn.execute(update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
                         .values(revoked_at=to_ms(now)))
            row = conn.execute(select(tokens).where(tokens.c.id == token_id)).first()
        if row is None:
            raise NotFound(f"token {token_id!r} does not exist")
        return _token(row)

    # Audit log ---------------------------------------------------------------------------
    def record_audit(self, at: datetime, username: str | None, method: str, path: str, query: str, status: int,
                     client: str) -> None:
        with self.db.write() as conn:
            conn.execute(insert(audit).values(at=to_ms(at), username=username, method=method[:10], path=path,
                                              query=query, status=status, client=client[:64]))

    def list_audit(self, username: str | None = None, since: datetime | None = None,
                   limit: int = 100) -> list[AuditEntry]:
        """Newest first; of one user, and/or from ``since`` on."""
        query = select(audit).order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit)
        if username is not None:
            query = query.where(audit.c.username == username)
        if since is not None:
            query = query.where(audit.c.at >= to_ms(since))
        with self.db.read() as conn:
            return [AuditEntry(r.id, from_ms(r.at), r.username, r.method, r.path, r.query, r.status,  # type: ignore[arg-type]
                               r.client) for r in conn.execute(query)]
