"""RegistryStore on SQL: registered models, versions, tags, aliases and the event log."""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, exists, func, insert, select, update

from trackflow.entities import PagedList
from trackflow.entities.assets import NewAssetEvent
from trackflow.entities.registry import (
    ModelVersion,
    ModelVersionStatus,
    RegisteredModel,
    RegistryEvent,
    RegistryEventType,
)
from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.store import validation
from trackflow.store.paging import decode_page_token, encode_page_token
from trackflow.store.registry_search import (
    parse_model_version_filter,
    parse_model_version_order_by,
    parse_registered_model_filter,
    parse_registered_model_order_by,
)
from trackflow.store.search_filter import Comparison
from trackflow.store.sql.asset_store import record_events_in as record_asset_events_in
from trackflow.store.sql.database import Database
from trackflow.store.sql.predicates import compare
from trackflow.store.sql.registry_tables import (
    model_version_tags,
    model_versions,
    registered_model_aliases,
    registered_model_tags,
    registered_models,
    registry_events,
)

STAGES = {"none": "None", "staging": "Staging", "production": "Production", "archived": "Archived"}
_ALIAS = re.compile(r"^[A-Za-z0-9_\-]{1,255}$")
_MAX_TAG_VALUE = 5000
E = RegistryEventType


def _now() -> int:
    return int(time.time() * 1000)


def validate_model_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"registered model name must be a non-empty string, got {name!r}")
    if len(name) > 256:
        raise InvalidInput(f"registered model name {name[:40]!r}... is longer than 256 characters")
    if "/" in name or "@" in name or ":" in name:
        raise InvalidInput(f"registered model name {name!r} may not contain '/', '@' or ':' (they delimit model URIs)")
    return name


def validate_version(version: object) -> int:
    text = str(version).strip()
    # isascii: str.isdigit also takes digits such as "³" that int() refuses; 18 digits fit a
    # 64-bit database integer.
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) < 1:
        raise InvalidInput(f"model version must be a positive integer, got {version!r}")
    return int(text)


def validate_alias(alias: object) -> str:
    if not isinstance(alias, str) or not _ALIAS.match(alias):
        raise InvalidInput(f"alias {alias!r} must be 1-255 letters, digits, '_' or '-'")
    if alias.lower() == "latest" or re.fullmatch(r"[vV]\d+", alias):
        raise InvalidInput(f"alias {alias!r} is reserved (it would read as 'latest' or a version)")
    return alias


def validate_tag(key: object, value: object) -> tuple[str, str]:
    key = validation.validate_key("tag", key)  # MLflow's rule for tag names, in the registry too
    text = "" if value is None else str(value)
    if len(text) > _MAX_TAG_VALUE:
        raise InvalidInput(f"value of tag {key!r} is longer than {_MAX_TAG_VALUE} characters")
    return key, text


def _max_results(value: object, limit: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= limit:
        raise InvalidInput(f"max_results must be an integer between 1 and {limit}, got {value!r}")
    return value


class SqlRegistryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # helpers -----------------------------------------------------------------------------
    @staticmethod
    def _event(
        conn: Connection,
        event_type: RegistryEventType,
        name: str,
        version: int | None = None,
        alias: str | None = None,
        **payload: Any,
    ) -> None:
        conn.execute(
            insert(registry_events).values(
                timestamp=_now(), event_type=event_type.value, name=name, version=version, alias=alias,
                payload=json.dumps(payload, default=str),
            )
        )
        # trackflow's join: a new version updates the asset model://<name>, an alias move the
        # asset model://<name>@<alias>, so DAGs can be scheduled on the registry.
        asset = None
        if event_type is RegistryEventType.MODEL_VERSION_CREATED:
            asset = f"model://{name}"
        elif event_type is RegistryEventType.ALIAS_SET:
            asset = f"model://{name}@{alias}"
        if asset is not None:
            extra = {"name": name, "version": str(version), **({"alias": alias} if alias else {}),
                     **{k: v for k, v in payload.items() if k == "run_id" and v}}
            record_asset_events_in(conn, [NewAssetEvent(asset, asset, extra=extra, source="registry")],
                                   datetime.now(UTC))

    @staticmethod
    def _model_row(conn: Connection, name: str, lock: bool = False) -> Any:
        query = select(registered_models).where(registered_models.c.name == name)
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"registered model {name!r} does not exist")
        return row

    @staticmethod
    def _version_row(conn: Connection, name: str, version: int) -> Any:
        row = conn.execute(
            select(model_versions).where(model_versions.c.name == name, model_versions.c.version == version)
        ).first()
        if row is None:
            SqlRegistryStore._model_row(conn, name)
            raise NotFound(f"model version {version} of registered model {name!r} does not exist")
        return row

    @staticmethod
    def _touch(conn: Connection, name: str, now: int) -> None:
        conn.execute(update(registered_models).where(registered_models.c.name == name).values(last_updated_time=now))

    def _versions(self, conn: Connection, rows: Sequence[Any]) -> list[ModelVersion]:
        if not rows:
            return []
        names = {r.name for r in rows}
        tags: dict[tuple[str, int], dict[str, str]] = defaultdict(dict)
        for t in conn.execute(select(model_version_tags).where(model_version_tags.c.name.in_(names))):
            tags[(t.name, t.version)][t.key] = t.value
        aliases: dict[tuple[str, int], list[str]] = defaultdict(list)
        alias_rows = conn.execute(
            select(registered_model_aliases)
            .where(registered_model_aliases.c.name.in_(names))
            .order_by(registered_model_aliases.c.alias)
        )
        for a in alias_rows:
            aliases[(a.name, a.version)].append(a.alias)
        return [
            ModelVersion(
                name=r.name, version=str(r.version), creation_timestamp=r.creation_time,
                last_updated_timestamp=r.last_updated_time, source=r.source, run_id=r.run_id, run_link=r.run_link,
                description=r.description or "", user_id=r.user_id or "", status=ModelVersionStatus(r.status),
                status_message=r.status_message, current_stage=r.current_stage,
                tags=tags[(r.name, r.version)], aliases=aliases[(r.name, r.version)],
            )
            for r in rows
        ]

    def _models(self, conn: Connection, rows: Sequence[Any]) -> list[RegisteredModel]:
        if not rows:
            return []
        names = [r.name for r in rows]
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for t in conn.execute(select(registered_model_tags).where(registered_model_tags.c.name.in_(names))):
            tags[t.name][t.key] = t.value
        aliases: dict[str, dict[str, str]] = defaultdict(dict)
        alias_rows = conn.execute(
            select(registered_model_aliases)
            .where(registered_model_aliases.c.name.in_(names))
            .order_by(registered_model_aliases.c.alias)
        )
        for a in alias_rows:
            aliases[a.name][a.alias] = str(a.version)
        # The newest version in each stage, as MLflow's latest_versions (one when stages are unused).
        newest = (
            select(model_versions.c.name, func.max(model_versions.c.version).label("v"))
            .where(model_versions.c.name.in_(names))
            .group_by(model_versions.c.name, model_versions.c.current_stage)
            .subquery()
        )
        latest_rows = conn.execute(
            select(model_versions)
            .join(newest, and_(model_versions.c.name == newest.c.name, model_versions.c.version == newest.c.v))
            .order_by(model_versions.c.version)
        ).all()
        latest: dict[str, list[ModelVersion]] = defaultdict(list)
        for version in self._versions(conn, latest_rows):
            latest[version.name].append(version)
        return [
            RegisteredModel(
                name=r.name, creation_timestamp=r.creation_time, last_updated_timestamp=r.last_updated_time,
                description=r.description or "", tags=tags[r.name], aliases=aliases[r.name],
                latest_versions=latest.get(r.name, []),
            )
            for r in rows
        ]

    # Registered models -------------------------------------------------------------------
    def create_registered_model(
        self, name: str, tags: dict[str, str] | None = None, description: str | None = None
    ) -> RegisteredModel:
        name = validate_model_name(name)
        clean_tags = [validate_tag(k, v) for k, v in (tags or {}).items()]
        now = _now()
        with self.db.write() as conn:
            if conn.execute(select(registered_models.c.name).where(registered_models.c.name == name)).first():
                raise AlreadyExists(f"registered model {name!r} already exists")
            conn.execute(
                insert(registered_models).values(
                    name=name, creation_time=now, last_updated_time=now, description=description or ""
                )
            )
            if clean_tags:
                rows = [{"name": name, "key": k, "value": v} for k, v in clean_tags]
                conn.execute(insert(registered_model_tags), rows)
            self._event(conn, E.REGISTERED_MODEL_CREATED, name, description=description or "", tags=dict(clean_tags))
            return self._models(conn, [self._model_row(conn, name)])[0]

    def get_registered_model(self, name: str) -> RegisteredModel:
        with self.db.read() as conn:
            return self._models(conn, [self._model_row(conn, name)])[0]

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        new_name = validate_model_name(new_name)
        with self.db.write() as conn:
            self._model_row(conn, name, lock=True)
            if new_name != name and conn.execute(
                select(registered_models.c.name).where(registered_models.c.name == new_name)
            ).first():
                raise AlreadyExists(f"registered model {new_name!r} already exists")
            # foreign keys cascade the new name to versions, tags and aliases
            conn.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(name=new_name, last_updated_time=_now())
            )
            self._event(conn, E.REGISTERED_MODEL_RENAMED, new_name, previous_name=name)
            return self._models(conn, [self._model_row(conn, new_name)])[0]

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        with self.db.write() as conn:
            self._model_row(conn, name)
            conn.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(description=description or "", last_updated_time=_now())
            )
            self._event(conn, E.REGISTERED_MODEL_UPDATED, name, description=description or "")
            return self._models(conn, [self._model_row(conn, name)])[0]

    def delete_registered_model(self, name: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, name, lock=True)
            # explicit child deletes: SQLite connections without foreign_keys=ON would not cascade
            for table in (registered_model_aliases, model_version_tags, model_versions, registered_model_tags):
                conn.execute(delete(table).where(table.c.name == name))
            conn.execute(delete(registered_models).where(registered_models.c.name == name))
            self._event(conn, E.REGISTERED_MODEL_DELETED, name)

    def search_registered_models(
        self,
        filter_string: str | None = None,
        max_results: int = 100,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[RegisteredModel]:
        max_results = _max_results(max_results, 1000)
        clauses = parse_registered_model_filter(filter_string)
        orders = [parse_registered_model_order_by(o) for o in order_by or []]
        offset = decode_page_token(page_token)
        t = registered_models
        query = select(t)
        for c in clauses:
            query = query.where(
                _tag_or_attribute(c, t, registered_model_tags, [t.c.name], [registered_model_tags.c.name])
            )
        columns = {
            "name": t.c.name, "creation_timestamp": t.c.creation_time, "last_updated_timestamp": t.c.last_updated_time
        }
        sort = [columns[o.key].asc() if o.ascending else columns[o.key].desc() for o in orders]
        if not any(o.key == "name" for o in orders):
            sort.append(t.c.name.asc())
        query = query.order_by(*sort).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            models = self._models(conn, rows[:max_results])
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(models, token)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        key, value = validate_tag(key, value)
        with self.db.write() as conn:
            self._model_row(conn, name)
            conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            )
            conn.execute(insert(registered_model_tags).values(name=name, key=key, value=value))
            self._touch(conn, name, _now())
            self._event(conn, E.REGISTERED_MODEL_TAG_SET, name, key=key, value=value)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, name)
            result = conn.execute(
                delete(registered_model_tags).where(
                    registered_model_tags.c.name == name, registered_model_tags.c.key == key
                )
            )
            if result.rowcount == 0:
                return  # deleting a tag that is not there changes nothing (as in MLflow)
            self._touch(conn, name, _now())
            self._event(conn, E.REGISTERED_MODEL_TAG_DELETED, name, key=key)

    # Versions ----------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        source: str,
        run_id: str | None = None,
        tags: dict[str, str] | None = None,
        run_link: str | None = None,
        description: str | None = None,
        user_id: str = "",
    ) -> ModelVersion:
        if not isinstance(source, str) or not source:
            raise InvalidInput(f"model version source must be a non-empty URI, got {source!r}")
        clean_tags = [validate_tag(k, v) for k, v in (tags or {}).items()]
        now = _now()
        with self.db.write() as conn:
            model = self._model_row(conn, name, lock=True)
            version = int(model.next_version)
            conn.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(next_version=version + 1, last_updated_time=now)
            )
            conn.execute(
                insert(model_versions).values(
                    name=name, version=version, creation_time=now, last_updated_time=now,
                    description=description or "", user_id=user_id or "", source=source, run_id=run_id or None,
                    run_link=run_link, status=ModelVersionStatus.READY.value, current_stage="None",
                )
            )
            if clean_tags:
                conn.execute(
                    insert(model_version_tags),
                    [{"name": name, "version": version, "key": k, "value": v} for k, v in clean_tags],
                )
            self._event(conn, E.MODEL_VERSION_CREATED, name, version, source=source, run_id=run_id)
            return self._versions(conn, [self._version_row(conn, name, version)])[0]

    def get_model_version(self, name: str, version: str) -> ModelVersion:
        number = validate_version(version)
        with self.db.read() as conn:
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

    def update_model_version(self, name: str, version: str, description: str) -> ModelVersion:
        number = validate_version(version)
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            now = _now()
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(description=description or "", last_updated_time=now)
            )
            self._event(conn, E.MODEL_VERSION_UPDATED, name, number, description=description or "")
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

    def transition_model_version_stage(
        self, name: str, version: str, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        number = validate_version(version)
        canonical = STAGES.get(str(stage).lower())
        if canonical is None:
            raise InvalidInput(f"stage {stage!r} is not one of {sorted(STAGES.values())}")
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            now = _now()
            if archive_existing_versions and canonical in ("Staging", "Production"):
                conn.execute(
                    update(model_versions)
                    .where(
                        model_versions.c.name == name,
                        model_versions.c.version != number,
                        model_versions.c.current_stage == canonical,
                    )
                    .values(current_stage="Archived", last_updated_time=now)
                )
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(current_stage=canonical, last_updated_time=now)
            )
            self._event(conn, E.MODEL_VERSION_STAGE_CHANGED, name, number, stage=canonical)
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

    def delete_model_version(self, name: str, version: str) -> None:
        number = validate_version(version)
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            for table in (registered_model_aliases, model_version_tags, model_versions):
                conn.execute(delete(table).where(table.c.name == name, table.c.version == number))
            self._touch(conn, name, _now())
            self._event(conn, E.MODEL_VERSION_DELETED, name, number)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        wanted = None
        if stages:
            wanted = set()
            for stage in stages:
                canonical = STAGES.get(str(stage).lower())
                if canonical is None:
                    raise InvalidInput(f"stage {stage!r} is not one of {sorted(STAGES.values())}")
                wanted.add(canonical)
        with self.db.read() as conn:
            self._model_row(conn, name)
            rows = conn.execute(
                select(model_versions).where(model_versions.c.name == name).order_by(model_versions.c.version.desc())
            ).all()
            newest: dict[str, Any] = {}
            for row in rows:
                if (wanted is None or row.current_stage in wanted) and row.current_stage not in newest:
                    newest[row.current_stage] = row
            chosen = sorted(newest.values(), key=lambda r: r.version)
            return self._versions(conn, chosen)

    def search_model_versions(
        self,
        filter_string: str | None = None,
        max_results: int = 10_000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[ModelVersion]:
        max_results = _max_results(max_results, 200_000)
        clauses = parse_model_version_filter(filter_string)
        orders = [parse_model_version_order_by(o) for o in order_by or []]
        offset = decode_page_token(page_token)
        t = model_versions
        query = select(t)
        attribute_columns = {
            "name": t.c.name, "run_id": t.c.run_id, "source_path": t.c.source, "version_number": t.c.version,
            "status": t.c.status, "user_id": t.c.user_id, "creation_timestamp": t.c.creation_time,
            "last_updated_timestamp": t.c.last_updated_time, "current_stage": t.c.current_stage,
        }
        for c in clauses:
            if c.kind == "tag":
                query = query.where(
                    _tag_or_attribute(c, t, model_version_tags, [t.c.name, t.c.version],
                                      [model_version_tags.c.name, model_version_tags.c.version])
                )
            else:
                query = query.where(compare(attribute_columns[c.key], c))
        sort = [
            attribute_columns[o.key].asc() if o.ascending else attribute_columns[o.key].desc() for o in orders
        ]
        sort += [t.c.name.asc(), t.c.version.desc()]
        query = query.order_by(*sort).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
            versions = self._versions(conn, rows[:max_results])
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(versions, token)

    def set_model_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        number = validate_version(version)
        key, value = validate_tag(key, value)
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            where = and_(
                model_version_tags.c.name == name, model_version_tags.c.version == number,
                model_version_tags.c.key == key,
            )
            conn.execute(delete(model_version_tags).where(where))
            conn.execute(insert(model_version_tags).values(name=name, version=number, key=key, value=value))
            conn.execute(
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == number)
                .values(last_updated_time=_now())
            )
            self._event(conn, E.MODEL_VERSION_TAG_SET, name, number, key=key, value=value)

    def delete_model_version_tag(self, name: str, version: str, key: str) -> None:
        number = validate_version(version)
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            result = conn.execute(
                delete(model_version_tags).where(
                    model_version_tags.c.name == name, model_version_tags.c.version == number,
                    model_version_tags.c.key == key,
                )
            )
            if result.rowcount == 0:
                return  # deleting a tag that is not there changes nothing (as in MLflow)
            self._event(conn, E.MODEL_VERSION_TAG_DELETED, name, number, key=key)

    # Aliases -----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str) -> None:
        alias = validate_alias(alias)
        number = validate_version(version)
        with self.db.write() as conn:
            self._version_row(conn, name, number)
            previous = conn.execute(
                select(registered_model_aliases.c.version).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            ).scalar()
            if previous == number:
                return  # already there: no change, no event
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            )
            conn.execute(insert(registered_model_aliases).values(name=name, alias=alias, version=number))
            self._touch(conn, name, _now())
            self._event(
                conn, E.ALIAS_SET, name, number, alias,
                previous_version=str(previous) if previous is not None else None,
            )

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, name)
            previous = conn.execute(
                select(registered_model_aliases.c.version).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            ).scalar()
            if previous is None:
                return  # deleting an alias that is not set changes nothing (as in MLflow)
            conn.execute(
                delete(registered_model_aliases).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            )
            self._touch(conn, name, _now())
            self._event(conn, E.ALIAS_DELETED, name, previous, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        with self.db.read() as conn:
            self._model_row(conn, name)
            number = conn.execute(
                select(registered_model_aliases.c.version).where(
                    registered_model_aliases.c.name == name, registered_model_aliases.c.alias == alias
                )
            ).scalar()
            if number is None:
                raise NotFound(f"registered model {name!r} has no alias {alias!r}")
            return self._versions(conn, [self._version_row(conn, name, number)])[0]

    # Events ------------------------------------------------------------------------------
    def list_events(
        self, name: str | None = None, after_event_id: int = 0, max_results: int = 1000
    ) -> list[RegistryEvent]:
        max_results = _max_results(max_results, 50_000)
        query = select(registry_events).where(registry_events.c.event_id > int(after_event_id))
        if name is not None:
            query = query.where(registry_events.c.name == name)
        query = query.order_by(registry_events.c.event_id).limit(max_results)
        with self.db.read() as conn:
            return [
                RegistryEvent(
                    event_id=int(r.event_id), timestamp=r.timestamp, event_type=RegistryEventType(r.event_type),
                    name=r.name, version=str(r.version) if r.version is not None else None, alias=r.alias,
                    payload=json.loads(r.payload or "{}"),
                )
                for r in conn.execute(query)
            ]


def _tag_or_attribute(
    c: Comparison, table: Any, tag_table: Any, keys: list[Any], tag_keys: list[Any]
) -> Any:
    """A WHERE condition for ``name`` (attribute) or ``tags.<key>`` clauses."""
    if c.kind != "tag":
        return compare(table.c[c.key] if c.key in table.c else table.c.name, c)
    match = and_(*[tk == k for tk, k in zip(tag_keys, keys, strict=True)], tag_table.c.key == c.key)
    if c.op == "IS NULL":
        return ~exists().where(match)
    if c.op == "IS NOT NULL":
        return exists().where(match)
    if c.op in ("!=", "NOT IN"):
        # a model without the tag matches too: MLflow clients send "tags.`mlflow.prompt.is_prompt` != 'true'"
        # with every search to leave prompts out, and plain models have no such tag
        positive = Comparison(c.kind, c.key, "=" if c.op == "!=" else "IN", c.value)
        return ~exists().where(match, compare(tag_table.c.value, positive))
    return exists().where(match, compare(tag_table.c.value, c))
