"""Users and API tokens on SQLAlchemy Core (SQLite and PostgreSQL). Hashing happens above
(auth/credentials.py): this store keeps and finds hashes, it never sees a secret."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from trackflow.entities.auth import ApiToken, AuditEntry, Grant, Group, User
from trackflow.errors import AlreadyExists, NotFound
from trackflow.store.sql.auth_tables import audit, group_members, groups, permissions, tokens, user_sessions, users
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import from_ms, to_ms


def _user(row: object) -> User:
    return User(row.username, bool(row.is_admin), from_ms(row.created_at), row.user_id)  # type: ignore[attr-defined]


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
                number = (conn.execute(select(func.max(users.c.user_id))).scalar() or 0) + 1
                conn.execute(insert(users).values(username=username, password_hash=password_hash,
                                                  is_admin=is_admin, created_at=to_ms(now), user_id=number))
        except IntegrityError:
            raise AlreadyExists(f"user {username!r} already exists") from None
        return User(username, is_admin, now, number)

    def get_user(self, username: str) -> User:
        """NotFound for an unknown name."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise NotFound(f"user {username!r} does not exist")
        return _user(row)

    def set_admin(self, username: str, is_admin: bool) -> None:
        """NotFound for an unknown name."""
        with self.db.write() as conn:
            if not conn.execute(update(users).where(users.c.username == username).values(is_admin=is_admin)).rowcount:
                raise NotFound(f"user {username!r} does not exist")

    def list_users(self) -> list[User]:
        with self.db.read() as conn:
            return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]

    def password_hash(self, username: str) -> tuple[User, str] | None:
        """The user and their password hash, or None for an unknown name."""
        with self.db.read() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        return None if row is None else (_user(row), row.password_hash)

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """NotFound for an unknown name; the user's browser sessions end (sign in again)."""
        with self.db.write() as conn:
            changed = conn.execute(update(users).where(users.c.username == username)
                                   .values(password_hash=password_hash)).rowcount
            conn.execute(delete(user_sessions).where(user_sessions.c.username == username))
        if not changed:
            raise NotFound(f"user {username!r} does not exist")

    def delete_user(self, username: str) -> None:
        """NotFound for an unknown name; the user's tokens and sessions go with them."""
        with self.db.write() as conn:
            conn.execute(delete(tokens).where(tokens.c.username == username))
            conn.execute(delete(user_sessions).where(user_sessions.c.username == username))
            conn.execute(delete(group_members).where(group_members.c.username == username))
            conn.execute(delete(permissions).where(permissions.c.principal_kind == "user",
                                                   permissions.c.principal == username))
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
                   limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Newest first (in the order written); of one user, from ``since`` on, and/or older
        than entry ``before`` (the next page)."""
        query = select(audit).order_by(audit.c.id.desc()).limit(limit)
        if username is not None:
            query = query.where(audit.c.username == username)
        if since is not None:
            query = query.where(audit.c.at >= to_ms(since))
        if before is not None:
            query = query.where(audit.c.id < before)
        with self.db.read() as conn:
            return [AuditEntry(r.id, from_ms(r.at), r.username, r.method, r.path, r.query, r.status,  # type: ignore[arg-type]
                               r.client) for r in conn.execute(query)]

    # Groups ------------------------------------------------------------------------------
    def create_group(self, name: str, now: datetime) -> Group:
        """AlreadyExists if the name is taken."""
        try:
            with self.db.write() as conn:
                conn.execute(insert(groups).values(name=name, created_at=to_ms(now)))
        except IntegrityError:
            raise AlreadyExists(f"group {name!r} already exists") from None
        return Group(name, (), now)

    def list_groups(self, member: str | None = None) -> list[Group]:
        """Every group with its members (or only the groups ``member`` is in), by name."""
        with self.db.read() as conn:
            rows = conn.execute(select(groups).order_by(groups.c.name)).all()
            members = conn.execute(select(group_members).order_by(group_members.c.username)).all()
        by_group: dict[str, list[str]] = {}
        for m in members:
            by_group.setdefault(m.group_name, []).append(m.username)
        return [Group(r.name, tuple(by_group.get(r.name, ())), from_ms(r.created_at)) for r in rows
                if member is None or member in by_group.get(r.name, ())]

    def delete_group(self, name: str) -> None:
        """NotFound for an unknown name; its memberships and permissions go with it."""
        with self.db.write() as conn:
            conn.execute(delete(group_members).where(group_members.c.group_name == name))
            conn.execute(delete(permissions).where(permissions.c.principal_kind == "group",
                                                   permissions.c.principal == name))
            if not conn.execute(delete(groups).where(groups.c.name == name)).rowcount:
                raise NotFound(f"group {name!r} does not exist")

    def add_member(self, group: str, username: str) -> None:
        """NotFound for an unknown group or user; adding a member twice changes nothing."""
        with self.db.write() as conn:
            if conn.execute(select(groups.c.name).where(groups.c.name == group)).first() is None:
                raise NotFound(f"group {group!r} does not exist")
            if conn.execute(select(users.c.username).where(users.c.username == username)).first() is None:
                raise NotFound(f"user {username!r} does not exist")
            known = conn.execute(select(group_members).where(group_members.c.group_name == group,
                                                             group_members.c.username == username)).first()
            if known is None:
                conn.execute(insert(group_members).values(group_name=group, username=username))

    def remove_member(self, group: str, username: str) -> None:
        """NotFound if ``username`` is not in ``group``."""
        with self.db.write() as conn:
            if not conn.execute(delete(group_members).where(group_members.c.group_name == group,
                                                            group_members.c.username == username)).rowcount:
                raise NotFound(f"user {username!r} is not in group {group!r}")

    # Permissions -------------------------------------------------------------------------
    def set_permission(self, grant: Grant, must_exist: bool | None = None) -> None:
        """Write ``grant`` over any the principal had on the resource. ``must_exist`` True:
        NotFound if it had none (an update); False: AlreadyExists if it had one (a create).
        NotFound for an unknown user or group."""
        principal_table, key = (users, users.c.username) if grant.principal_kind == "user" else (groups, groups.c.name)
        where = self._grant_where(grant.principal_kind, grant.principal, grant.resource_type, grant.resource_id)
        with self.db.write() as conn:
            if conn.execute(select(key).select_from(principal_table).where(key == grant.principal)).first() is None:
                raise NotFound(f"{grant.principal_kind} {grant.principal!r} does not exist")
            had = conn.execute(select(permissions.c.permission).where(where)).first() is not None
            if must_exist is True and not had:
                raise NotFound(f"{grant.principal_kind} {grant.principal!r} has no permission on "
                               f"{grant.resource_type} {grant.resource_id!r}")
            if must_exist is False and had:
                raise AlreadyExists(f"{grant.principal_kind} {grant.principal!r} already has a permission on "
                                    f"{grant.resource_type} {grant.resource_id!r}")
            if had:
                conn.execute(update(permissions).where(where).values(permission=grant.permission))
            else:
                conn.execute(insert(permissions).values(principal_kind=grant.principal_kind, principal=grant.principal,
                                                        resource_type=grant.resource_type,
                                                        resource_id=grant.resource_id, permission=grant.permission))

    def delete_permission(self, principal_kind: str, principal: str, resource_type: str, resource_id: str) -> None:
        """NotFound if the principal has no permission on the resource."""
        with self.db.write() as conn:
            if not conn.execute(delete(permissions).where(
                    self._grant_where(principal_kind, principal, resource_type, resource_id))).rowcount:
                raise NotFound(f"{principal_kind} {principal!r} has no permission on {resource_type} {resource_id!r}")

    def list_permissions(self, resource_type: str | None = None, resource_id: str | None = None,
                         principal_kind: str | None = None, principal: str | None = None) -> list[Grant]:
        query = select(permissions).order_by(permissions.c.resource_type, permissions.c.resource_id,
                                             permissions.c.principal_kind, permissions.c.principal)
        for column, value in ((permissions.c.resource_type, resource_type), (permissions.c.resource_id, resource_id),
                              (permissions.c.principal_kind, principal_kind), (permissions.c.principal, principal)):
            if value is not None:
                query = query.where(column == value)
        with self.db.read() as conn:
            return [Grant(r.principal_kind, r.principal, r.resource_type, r.resource_id, r.permission)
                    for r in conn.execute(query)]

    def grants_of(self, username: str, resource_type: str, resource_id: str) -> list[Grant]:
        """The grants on one resource to ``username`` and to the groups they are in."""
        in_groups = select(group_members.c.group_name).where(group_members.c.username == username)
        query = select(permissions).where(
            permissions.c.resource_type == resource_type, permissions.c.resource_id == resource_id,
            or_(and_(permissions.c.principal_kind == "user", permissions.c.principal == username),
                and_(permissions.c.principal_kind == "group", permissions.c.principal.in_(in_groups))))
        with self.db.read() as conn:
            return [Grant(r.principal_kind, r.principal, r.resource_type, r.resource_id, r.permission)
                    for r in conn.execute(query)]

    def levels_of(self, username: str, resource_type: str) -> dict[str, list[str]]:
        """The grants to ``username`` and their groups on every object of one type: id -> levels."""
        in_groups = select(group_members.c.group_name).where(group_members.c.username == username)
        query = select(permissions.c.resource_id, permissions.c.permission).where(
            permissions.c.resource_type == resource_type,
            or_(and_(permissions.c.principal_kind == "user", permissions.c.principal == username),
                and_(permissions.c.principal_kind == "group", permissions.c.principal.in_(in_groups))))
        out: dict[str, list[str]] = {}
        with self.db.read() as conn:
            for resource_id, permission in conn.execute(query):
                out.setdefault(resource_id, []).append(permission)
        return out

    def rename_resource(self, resource_type: str, old: str, new: str) -> None:
        """Grants on a renamed registered model follow it."""
        with self.db.write() as conn:
            conn.execute(update(permissions).where(permissions.c.resource_type == resource_type,
                                                   permissions.c.resource_id == old).values(resource_id=new))

    def forget_resource(self, resource_type: str, resource_id: str) -> None:
        """A deleted registered model's grants go with it (a new model of that name starts afresh)."""
        with self.db.write() as conn:
            conn.execute(delete(permissions).where(permissions.c.resource_type == resource_type,
                                                   permissions.c.resource_id == resource_id))

    @staticmethod
    def _grant_where(principal_kind: str, principal: str, resource_type: str, resource_id: str
                     ) -> ColumnElement[bool]:
        return and_(permissions.c.principal_kind == principal_kind, permissions.c.principal == principal,
                    permissions.c.resource_type == resource_type, permissions.c.resource_id == resource_id)
