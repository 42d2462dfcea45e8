"""The permission model of a team server: what a user may do with one experiment, registered
model (prompts are registered models) or DAG.

Levels are MLflow's: NO_PERMISSIONS < READ < EDIT < MANAGE. READ sees (and reads a DAG's
logs), EDIT changes (logs runs, registers versions, triggers, clears, marks and pauses DAGs),
MANAGE also deletes and grants permissions. A user's level on an object is the highest of the
grants to them and to their groups; with none, the server's default permission (MLflow's
``default_permission``, READ unless set). Admins may do everything. The creator of an
experiment or a registered model is granted MANAGE on it.
"""

from __future__ import annotations

from enum import IntEnum

from trackflow.entities.auth import Grant, User
from trackflow.errors import InvalidInput, PermissionDenied
from trackflow.store.sql.auth_store import SqlAuthStore


class Level(IntEnum):
    NO_PERMISSIONS = 0
    READ = 1
    EDIT = 3
    MANAGE = 4


EXPERIMENT, REGISTERED_MODEL, DAG = "experiment", "registered_model", "dag"
RESOURCE_TYPES = (EXPERIMENT, REGISTERED_MODEL, DAG)
# MLflow names a prompt's grants "prompt"; here a prompt is the registered model it is stored as.
RESOURCE_ALIASES = {"prompt": REGISTERED_MODEL}
PRINCIPAL_KINDS = ("user", "group")
MAX_RESOURCE_ID = 500  # the auth_permissions column (a registered model's name, an experiment id, a dag_id)


def parse_level(name: object) -> Level:
    if not isinstance(name, str) or name not in Level.__members__:
        raise InvalidInput(f"Invalid permission {name!r}. Valid permissions are: "
                           f"{tuple(Level.__members__)}")
    return Level[name]


def parse_resource_type(name: object) -> str:
    if isinstance(name, str) and name in RESOURCE_ALIASES:
        return RESOURCE_ALIASES[name]
    if not isinstance(name, str) or name not in RESOURCE_TYPES:
        raise InvalidInput(f"Invalid resource type {name!r}. Valid resource types are: "
                           f"{(*RESOURCE_TYPES, *RESOURCE_ALIASES)}")
    return name


class Permissions:
    """Decides who may do what, and records grants (through the auth store)."""

    def __init__(self, store: SqlAuthStore, default: Level = Level.READ) -> None:
        self.store = store
        self.default = default

    def level(self, user: User, resource_type: str, resource_id: str) -> Level:
        """``user``'s level on one object: MANAGE for an admin; else the highest grant to the
        user or their groups; else the default."""
        if user.is_admin:
            return Level.MANAGE
        grants = self.store.grants_of(user.username, resource_type, resource_id)
        if not grants:
            return self.default
        return max(Level[g.permission] for g in grants)

    def readable(self, user: User, resource_type: str, resource_ids: list[str]) -> set[str]:
        """Which of ``resource_ids`` ``user`` may read (one query, for filtering a list)."""
        if user.is_admin:
            return set(resource_ids)
        granted = self.store.levels_of(user.username, resource_type)
        return {i for i in resource_ids
                if (max(Level[g] for g in granted[i]) if i in granted else self.default) >= Level.READ}

    def require(self, user: User, resource_type: str, resource_id: str, needed: Level) -> None:
        """PermissionDenied unless ``user`` holds ``needed`` on the object."""
        if self.level(user, resource_type, resource_id) < needed:
            raise PermissionDenied(f"user {user.username!r} needs {needed.name} on {resource_type} "
                                   f"{resource_id!r}")

    def grant(self, principal_kind: str, principal: str, resource_type: str, resource_id: str, level: Level,
              must_exist: bool | None = None) -> Grant:
        """Give a user or group ``level`` on an object (see SqlAuthStore.set_permission)."""
        if principal_kind not in PRINCIPAL_KINDS:
            raise InvalidInput(f"a permission is granted to a user or a group, not {principal_kind!r}")
        if not isinstance(resource_id, str) or not 1 <= len(resource_id) <= MAX_RESOURCE_ID:
            raise InvalidInput(f"a resource id has 1 to {MAX_RESOURCE_ID} characters, got {str(resource_id)[:80]!r}")
        grant = Grant(principal_kind, principal, parse_resource_type(resource_type), resource_id, level.name)
        self.store.set_permission(grant, must_exist)
        return grant

    def make_owner(self, username: str, resource_type: str, resource_id: str) -> None:
        """The creator of an object may manage it."""
        self.grant("user", username, resource_type, resource_id, Level.MANAGE)
