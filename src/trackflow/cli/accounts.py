"""`trackflow users` and `trackflow tokens`: accounts of a server with auth on, managed on the
server's machine against its database (the /api/v1 users and tokens endpoints do the same
over HTTP for an admin)."""

from __future__ import annotations

import secrets
import sys
from datetime import UTC, datetime, timedelta

import click

from trackflow.auth.credentials import Accounts
from trackflow.cli.options import OUTPUT_OPTION
from trackflow.config import Settings


def _accounts(settings: Settings) -> Accounts:
    from trackflow.store.sql.auth_store import SqlAuthStore
    from trackflow.store.sql.database import Database

    uri = settings.resolved_tracking_uri
    if uri.startswith(("http://", "https://")):
        raise click.UsageError("accounts are managed on the server's database (set --backend-store-uri or "
                               "TRACKFLOW_TRACKING_URI to it), or over HTTP with /api/v1/users as an admin")
    db = Database(uri)
    db.upgrade()
    return Accounts(SqlAuthStore(db))


def _password(stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def users() -> None:
    """Users of a server with auth on."""


@users.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="May manage users and everything else.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else prompt).")
@click.option("--no-password", is_flag=True,
              help="A password nobody knows: the user signs in only through the OIDC provider.")
@click.pass_obj
def create_user(settings: Settings, username: str, admin: bool, password_stdin: bool, no_password: bool) -> None:
    """Create user USERNAME."""
    password = secrets.token_urlsafe(32) if no_password else _password(password_stdin)
    user = _accounts(settings).create_user(username, password, admin, datetime.now(UTC))
    click.echo(f"Created user {user.username}" + (" (admin)" if user.is_admin else ""))


@users.command("list")
@OUTPUT_OPTION
@click.pass_obj
def list_users(settings: Settings, output: str) -> None:
    """Every user."""
    from trackflow.cli.render import print_table

    rows = [(u.username, "yes" if u.is_admin else "", u.created_at.isoformat() if u.created_at else "")
            for u in _accounts(settings).store.list_users()]
    print_table("Users", ["username", "admin", "created"], rows, output)


@users.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (else prompt).")
@click.pass_obj
def set_password(settings: Settings, username: str, password_stdin: bool) -> None:
    """Give USERNAME a new password."""
    _accounts(settings).set_password(username, _password(password_stdin))
    click.echo(f"Changed the password of {username}")


@users.command("set-admin")
@click.argument("username")
@click.option("--admin/--no-admin", "is_admin", default=True, show_default=True,
              help="Make USERNAME an admin, or no longer one.")
@click.pass_obj
def set_admin(settings: Settings, username: str, is_admin: bool) -> None:
    """Make USERNAME an admin (may do everything) or take that away."""
    _accounts(settings).set_admin(username, is_admin)
    click.echo(f"{username} is {'now' if is_admin else 'no longer'} an admin")


@users.command("delete")
@click.argument("username")
@click.pass_obj
def delete_user(settings: Settings, username: str) -> None:
    """Delete USERNAME and their tokens."""
    _accounts(settings).delete_user(username)
    click.echo(f"Deleted user {username}")


@click.group()
def tokens() -> None:
    """API tokens (Bearer) of a server with auth on."""


@tokens.command("create")
@click.option("--user", "username", required=True, help="Whose token it is.")
@click.option("--name", required=True, help="What it is for (e.g. ci, notebook).")
@click.pass_obj
def create_token(settings: Settings, username: str, name: str) -> None:
    """Make a token; it is printed once and never stored (only its hash is)."""
    record, token = _accounts(settings).create_token(username, name, datetime.now(UTC))
    click.echo(f"Created token {record.id} ({record.name}) of {record.username}; it is shown only now:", err=True)
    click.echo(token)


@tokens.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
@OUTPUT_OPTION
@click.pass_obj
def list_tokens(settings: Settings, username: str | None, output: str) -> None:
    """Tokens (never the tokens themselves)."""
    from trackflow.cli.render import print_table

    rows = [(t.id, t.username, t.name, t.created_at.isoformat() if t.created_at else "",
             t.revoked_at.isoformat() if t.revoked_at else "") for t in _accounts(settings).store.list_tokens(username)]
    print_table("Tokens", ["id", "user", "name", "created", "revoked"], rows, output)


@tokens.command("revoke")
@click.argument("token_id")
@click.pass_obj
def revoke_token(settings: Settings, token_id: str) -> None:
    """Revoke token TOKEN_ID: requests with it are refused from now on."""
    token = _accounts(settings).store.revoke_token(token_id, datetime.now(UTC))
    click.echo(f"Revoked token {token.id} ({token.name}) of {token.username}")


@click.command()
@click.option("--user", "username", help="Only this user's changes.")
@click.option("--since", help="ISO date/datetime: only changes from then on.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@OUTPUT_OPTION
@click.pass_obj
def audit(settings: Settings, username: str | None, since: str | None, limit: int, output: str) -> None:
    """Changes made through a server with auth on, newest first: who, what, when, from where."""
    from trackflow.cli.render import print_table
    from trackflow.pipelines.operations import parse_date

    start = parse_date(since, "--since") if since else None
    rows = [(e.at.isoformat(), e.username or "(not signed in)", e.method, e.path + (f"?{e.query}" if e.query else ""),
             e.status, e.client) for e in _accounts(settings).store.list_audit(username, start, limit)]
    print_table("Audit log", ["at", "user", "method", "path", "status", "from"], rows, output)


@click.group()
def sessions() -> None:
    """Browser sessions (signed in at /login) of a server with auth on."""


@sessions.command("list")
@click.option("--user", "username", help="Only this user's sessions.")
@OUTPUT_OPTION
@click.pass_obj
def list_sessions(settings: Settings, username: str | None, output: str) -> None:
    """Live sessions, newest first: who, since when, last seen, from where."""
    from trackflow.cli.render import print_table

    since = datetime.now(UTC) - timedelta(hours=settings.session_hours)
    rows = [(s.id, s.username, s.method, s.created_at.isoformat(), s.last_seen_at.isoformat(), s.client,
             s.user_agent) for s in _accounts(settings).sessions.list_sessions(username, created_after=since)]
    print_table("Sessions", ["id", "user", "method", "created", "last seen", "from", "user agent"], rows, output)


@sessions.command("revoke")
@click.argument("session_id")
@click.pass_obj
def revoke_session(settings: Settings, session_id: str) -> None:
    """End session SESSION_ID: its next request is refused (the browser must sign in again)."""
    accounts = _accounts(settings)
    session = accounts.sessions.revoke_session(session_id)
    accounts.store.record_audit(datetime.now(UTC), None, "DELETE", f"/api/v1/sessions/{session.id}", "", 200, "cli")
    click.echo(f"Revoked session {session.id} of {session.username}")
