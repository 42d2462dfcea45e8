"""`trackflow permissions` and `trackflow groups`: who may do what with each experiment,
registered model (or prompt) and DAG of a server with auth on, managed on the server's machine
against its database (/api/v1/permissions and /api/v1/groups do the same over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from trackflow.auth.credentials import check_username
from trackflow.auth.permissions import (
    RESOURCE_ALIASES,
    RESOURCE_TYPES,
    Level,
    Permissions,
    parse_level,
    parse_resource_type,
)
from trackflow.cli.accounts import _accounts
from trackflow.cli.options import OUTPUT_OPTION
from trackflow.config import Settings

RESOURCE_TYPE = click.Choice([*RESOURCE_TYPES, *RESOURCE_ALIASES])
LEVEL = click.Choice(list(Level.__members__))


def _permissions(settings: Settings) -> Permissions:
    return Permissions(_accounts(settings).store, parse_level(settings.auth_default_permission))


def _principal(username: str | None, group: str | None) -> tuple[str, str]:
    if (username is None) == (group is None):
        raise click.UsageError("name exactly one of --user and --group")
    return ("user", username) if username is not None else ("group", group or "")


@click.group()
def permissions() -> None:
    """Permissions (READ, EDIT, MANAGE, NO_PERMISSIONS) of users and groups on objects."""


@permissions.command("grant")
@click.argument("resource_type", type=RESOURCE_TYPE)
@click.argument("resource_id")
@click.option("--user", "username", help="The user to grant to.")
@click.option("--group", help="The group to grant to.")
@click.option("--level", type=LEVEL, required=True, help="READ, EDIT, MANAGE or NO_PERMISSIONS.")
@click.pass_obj
def grant(settings: Settings, resource_type: str, resource_id: str, username: str | None, group: str | None,
          level: str) -> None:
    """Give a user or a group LEVEL on one experiment (its id), registered model or prompt (its
    name) or DAG (its dag_id), replacing what they had."""
    kind, name = _principal(username, group)
    made = _permissions(settings).grant(kind, name, resource_type, resource_id, Level[level])
    click.echo(f"Granted {made.permission} on {made.resource_type} {made.resource_id} to {kind} {name}")


@permissions.command("revoke")
@click.argument("resource_type", type=RESOURCE_TYPE)
@click.argument("resource_id")
@click.option("--user", "username", help="The user whose grant goes.")
@click.option("--group", help="The group whose grant goes.")
@click.pass_obj
def revoke(settings: Settings, resource_type: str, resource_id: str, username: str | None,
           group: str | None) -> None:
    """Take a user's or group's grant on one object away."""
    kind, name = _principal(username, group)
    _permissions(settings).store.delete_permission(kind, name, parse_resource_type(resource_type), resource_id)
    click.echo(f"Revoked the permission of {kind} {name} on {resource_type} {resource_id}")


@permissions.command("list")
@click.option("--type", "resource_type", type=RESOURCE_TYPE, help="Only grants on this kind of object.")
@click.option("--id", "resource_id", help="Only grants on this object.")
@click.option("--user", "username", help="Only this user's grants.")
@click.option("--group", help="Only this group's grants.")
@OUTPUT_OPTION
@click.pass_obj
def list_permissions(settings: Settings, resource_type: str | None, resource_id: str | None, username: str | None,
                     group: str | None, output: str) -> None:
    """Grants, by object."""
    from trackflow.cli.render import print_table

    kind = ("user" if username else "group") if username or group else None
    grants = _permissions(settings).store.list_permissions(
        parse_resource_type(resource_type) if resource_type else None, resource_id, kind, username or group)
    rows = [(g.resource_type, g.resource_id, g.principal_kind, g.principal, g.permission) for g in grants]
    print_table("Permissions", ["type", "id", "kind", "name", "permission"], rows, output)


@permissions.command("show")
@click.argument("resource_type", type=RESOURCE_TYPE)
@click.argument("resource_id")
@click.option("--user", "username", required=True, help="Whose level to show.")
@click.pass_obj
def show(settings: Settings, resource_type: str, resource_id: str, username: str) -> None:
    """What USER may do with one object: their grant, their groups', or the default."""
    p = _permissions(settings)
    click.echo(p.level(p.store.get_user(username), parse_resource_type(resource_type), resource_id).name)


@click.group()
def groups() -> None:
    """Groups of users, granted permissions together."""


@groups.command("create")
@click.argument("name")
@click.pass_obj
def create_group(settings: Settings, name: str) -> None:
    """Create group NAME."""
    _accounts(settings).store.create_group(check_username(name, "group name"), datetime.now(UTC))
    click.echo(f"Created group {name}")


@groups.command("delete")
@click.argument("name")
@click.pass_obj
def delete_group(settings: Settings, name: str) -> None:
    """Delete group NAME, its memberships and its grants."""
    _accounts(settings).store.delete_group(name)
    click.echo(f"Deleted group {name}")


@groups.command("list")
@OUTPUT_OPTION
@click.pass_obj
def list_groups(settings: Settings, output: str) -> None:
    """Every group and its members."""
    from trackflow.cli.render import print_table

    rows = [(g.name, ", ".join(g.members)) for g in _accounts(settings).store.list_groups()]
    print_table("Groups", ["name", "members"], rows, output)


@groups.command("add-member")
@click.argument("name")
@click.argument("username")
@click.pass_obj
def add_member(settings: Settings, name: str, username: str) -> None:
    """Put USERNAME in group NAME."""
    _accounts(settings).store.add_member(name, username)
    click.echo(f"Added {username} to group {name}")


@groups.command("remove-member")
@click.argument("name")
@click.argument("username")
@click.pass_obj
def remove_member(settings: Settings, name: str, username: str) -> None:
    """Take USERNAME out of group NAME."""
    _accounts(settings).store.remove_member(name, username)
    click.echo(f"Removed {username} from group {name}")
