"""Model registry records: registered models, their versions, aliases, and the event log."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class ModelVersionStatus(enum.StrEnum):
    PENDING_REGISTRATION = "PENDING_REGISTRATION"
    FAILED_REGISTRATION = "FAILED_REGISTRATION"
    READY = "READY"


class RegistryEventType(enum.StrEnum):
    REGISTERED_MODEL_CREATED = "REGISTERED_MODEL_CREATED"
    REGISTERED_MODEL_UPDATED = "REGISTERED_MODEL_UPDATED"
    REGISTERED_MODEL_RENAMED = "REGISTERED_MODEL_RENAMED"
    REGISTERED_MODEL_DELETED = "REGISTERED_MODEL_DELETED"
    REGISTERED_MODEL_TAG_SET = "REGISTERED_MODEL_TAG_SET"
    REGISTERED_MODEL_TAG_DELETED = "REGISTERED_MODEL_TAG_DELETED"
    MODEL_VERSION_CREATED = "MODEL_VERSION_CREATED"
    MODEL_VERSION_UPDATED = "MODEL_VERSION_UPDATED"
    MODEL_VERSION_STAGE_CHANGED = "MODEL_VERSION_STAGE_CHANGED"
    MODEL_VERSION_DELETED = "MODEL_VERSION_DELETED"
    MODEL_VERSION_TAG_SET = "MODEL_VERSION_TAG_SET"
    MODEL_VERSION_TAG_DELETED = "MODEL_VERSION_TAG_DELETED"
    ALIAS_SET = "ALIAS_SET"  # payload.previous_version is set when an alias moved
    ALIAS_DELETED = "ALIAS_DELETED"


@dataclass
class ModelVersion:
    name: str
    version: str
    creation_timestamp: int
    last_updated_timestamp: int
    source: str
    run_id: str | None = None
    run_link: str | None = None
    description: str = ""
    user_id: str = ""
    status: ModelVersionStatus = ModelVersionStatus.READY
    status_message: str | None = None
    current_stage: str = "None"
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)


@dataclass
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> version
    latest_versions: list[ModelVersion] = field(default_factory=list)


@dataclass(frozen=True)
class RegistryEvent:
    """One change to the registry, in the order it was committed (``event_id`` increases)."""

    event_id: int
    timestamp: int
    event_type: RegistryEventType
    name: str
    version: str | None = None
    alias: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelVersionLineage:
    """Where a version came from: its run and, when a pipeline task produced it, that task."""

    name: str
    version: str
    source: str
    run_id: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    dag_id: str | None = None
    dag_run_id: str | None = None
    task_id: str | None = None
    try_number: str | None = None
