"""Logged models in the SQL store (mixed into SqlTrackingStore; contract in store/base.py).

A logged model lives in an experiment; its artifacts sit at
``<experiment artifact location>/models/<model_id>/artifacts`` as in MLflow 3.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, delete, select, update

from trackflow.entities import (
    DatasetFilter,
    LifecycleStage,
    LoggedModel,
    LoggedModelOrder,
    LoggedModelStatus,
    Metric,
    ModelOutput,
    PagedList,
    Param,
    RunTag,
)
from trackflow.errors import InvalidInput, NotFound
from trackflow.store import validation
from trackflow.store.names import generate_run_name
from trackflow.store.sql import logged_model_search
from trackflow.store.sql import logged_model_tables as lt
from trackflow.store.sql import tables as t
from trackflow.store.sql.database import Database
from trackflow.store.sql.rows import insert_for, join_uri

SEARCH_DEFAULT_MAX_RESULTS = 100
_BAD_NAME_CHARACTERS = ("/", ":", ".", "%", '"', "'")


def _now_ms() -> int:
    return int(time.time() * 1000)


def validate_model_id(model_id: object) -> str:
    if not isinstance(model_id, str) or not model_id or len(model_id) > 36:
        raise InvalidInput(f"invalid logged model id {model_id!r}")
    return model_id


def _validate_name(name: str | None) -> None:
    if name is None:
        return
    if not name or any(c in name for c in _BAD_NAME_CHARACTERS):
        raise InvalidInput(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARACTERS}"
        )
    if len(name) > 500:
        raise InvalidInput(f"model name is {len(name)} characters long, the limit is 500")


def _not_found(model_id: str) -> NotFound:
    return NotFound(f"Logged model with ID '{model_id}' not found.")


def model_metric_rows(run_id: str, experiment_model_ids: set[str], metrics: Iterable[Metric]) -> list[dict[str, Any]]:
    """Rows of logged_model_metrics for the metrics that name a model (others are skipped);
    NotFound for a model that is not in ``experiment_model_ids``."""
    rows = []
    for metric in metrics:
        if not metric.model_id:
            continue
        if metric.model_id not in experiment_model_ids:
            raise _not_found(metric.model_id)
        is_nan = math.isnan(metric.value)
        rows.append(
            {
                "model_id": metric.model_id,
                "key": metric.key,
                "timestamp": metric.timestamp,
                "step": metric.step,
                "run_uuid": run_id,
                "value": 0.0 if is_nan else float(metric.value),
                "is_nan": is_nan,
                "dataset_name": metric.dataset_name or None,
                "dataset_digest": metric.dataset_digest or None,
            }
        )
    return rows


def insert_model_metrics(conn: Connection, run_id: str, metrics: Sequence[Metric]) -> None:
    """Record the metrics of a run's batch that were evaluated on a logged model (MLflow 3's
    ``model_id`` on a metric). Inside the batch's transaction; re-logged points keep the first value."""
    wanted = {m.model_id for m in metrics if m.model_id}
    if not wanted:
        return
    for model_id in wanted:
        validate_model_id(model_id)
    known = set(
        conn.execute(select(lt.logged_models.c.model_id).where(lt.logged_models.c.model_id.in_(wanted))).scalars()
    )
    rows = model_metric_rows(run_id, known, metrics)
    conn.execute(insert_for(conn, lt.logged_model_metrics).on_conflict_do_nothing(), rows)


def load_models(conn: Connection, model_ids: Sequence[str]) -> list[LoggedModel]:
    """Models in the order of ``model_ids``, with tags, params and metrics (unknown ids skipped)."""
    if not model_ids:
        return []
    ids = list(model_ids)
    lm, tg, pr, mt = lt.logged_models.c, lt.logged_model_tags.c, lt.logged_model_params.c, lt.logged_model_metrics.c
    models: dict[str, LoggedModel] = {}
    for row in conn.execute(select(lt.logged_models).where(lm.model_id.in_(ids))):
        models[row.model_id] = LoggedModel(
            model_id=row.model_id,
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=row.artifact_location,
            creation_timestamp=row.creation_timestamp_ms,
            last_updated_timestamp=row.last_updated_timestamp_ms,
            status=LoggedModelStatus(row.status),
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            model_type=row.model_type,
            source_run_id=row.source_run_id,
            status_message=row.status_message,
        )
    for model_id, key, value in conn.execute(
        select(tg.model_id, tg.key, tg.value).where(tg.model_id.in_(ids)).order_by(tg.key)
    ):
        models[model_id].tags[key] = value
    for model_id, key, value in conn.execute(
        select(pr.model_id, pr.key, pr.value).where(pr.model_id.in_(ids)).order_by(pr.key)
    ):
        models[model_id].params[key] = value
    metric_rows = conn.execute(
        select(lt.logged_model_metrics).where(mt.model_id.in_(ids)).order_by(mt.key, mt.timestamp, mt.step, mt.run_uuid)
    )
    for row in metric_rows:
        models[row.model_id].metrics.append(
            Metric(
                row.key,
                math.nan if row.is_nan else float(row.value),
                row.timestamp,
                row.step,
                model_id=row.model_id,
                dataset_name=row.dataset_name,
                dataset_digest=row.dataset_digest,
                run_id=row.run_uuid,
            )
        )
    return [models[i] for i in ids if i in models]


class LoggedModelSqlMixin:
    """The logged-model half of SqlTrackingStore (which provides ``db``, ``_require_experiment``,
    ``_require_run`` and ``default_artifact_root``)."""

    db: Database
    default_artifact_root: str

    def _require_experiment(self, conn: Connection, experiment_id: str, active: bool = True) -> Any:
        raise NotImplementedError  # provided by SqlTrackingStore

    def _require_run(self, conn: Connection, run_id: str, active: bool = True) -> Any:
        raise NotImplementedError  # provided by SqlTrackingStore

    def _model_row(self, conn: Connection, model_id: str) -> Any:
        validate_model_id(model_id)
        row = conn.execute(select(lt.logged_models).where(lt.logged_models.c.model_id == model_id)).first()
        if row is None:
            raise _not_found(model_id)
        return row

    def _touch(self, conn: Connection, model_id: str, **values: Any) -> None:
        conn.execute(
            update(lt.logged_models)
            .where(lt.logged_models.c.model_id == model_id)
            .values(last_updated_timestamp_ms=_now_ms(), **values)
        )

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        _validate_name(name)
        for key, value in (tags or {}).items():
            validation.validate_tag(RunTag(key, value))
        for key, value in (params or {}).items():
            validation.validate_param(Param(key, value))
        if source_run_id:
            validation.validate_run_id(source_run_id)
        model_id = f"m-{uuid.uuid4().hex}"
        now = _now_ms()
        with self.db.write() as conn:
            experiment = self._require_experiment(conn, experiment_id)
            root = experiment.artifact_location or join_uri(self.default_artifact_root, str(experiment.experiment_id))
            model = LoggedModel(
                model_id=model_id,
                experiment_id=str(experiment.experiment_id),
                name=name or generate_run_name(),
                artifact_location=join_uri(root, "models", model_id, "artifacts"),
                creation_timestamp=now,
                last_updated_timestamp=now,
                status=LoggedModelStatus.PENDING,
                model_type=model_type,
                source_run_id=source_run_id or None,
                tags=dict(tags or {}),
                params=dict(params or {}),
            )
            conn.execute(
                lt.logged_models.insert().values(
                    model_id=model_id,
                    experiment_id=experiment.experiment_id,
                    name=model.name,
                    artifact_location=model.artifact_location,
                    creation_timestamp_ms=now,
                    last_updated_timestamp_ms=now,
                    status=model.status.value,
                    lifecycle_stage=LifecycleStage.ACTIVE.value,
                    model_type=model_type,
                    source_run_id=model.source_run_id,
                )
            )
            for table, pairs in ((lt.logged_model_tags, model.tags), (lt.logged_model_params, model.params)):
                if pairs:
                    conn.execute(
                        table.insert(), [{"model_id": model_id, "key": k, "value": v} for k, v in pairs.items()]
                    )
        return model

    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel:
        validate_model_id(model_id)
        with self.db.read() as conn:
            models = load_models(conn, [model_id])
        if not models or (not allow_deleted and models[0].lifecycle_stage == LifecycleStage.DELETED):
            raise _not_found(model_id)
        return models[0]

    def delete_logged_model(self, model_id: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, model_id)
            self._touch(conn, model_id, lifecycle_stage=LifecycleStage.DELETED.value)

    def finalize_logged_model(self, model_id: str, status: LoggedModelStatus) -> LoggedModel:
        status = LoggedModelStatus(status)
        with self.db.write() as conn:
            self._model_row(conn, model_id)
            self._touch(conn, model_id, status=status.value)
            return load_models(conn, [model_id])[0]

    def set_logged_model_tags(self, model_id: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            validation.validate_tag(RunTag(key, value))
        with self.db.write() as conn:
            self._model_row(conn, model_id)
            if tags:
                stmt = insert_for(conn, lt.logged_model_tags)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["model_id", "key"], set_={"value": stmt.excluded.value}
                )
                conn.execute(stmt, [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()])

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._model_row(conn, model_id)
            tags = lt.logged_model_tags.c
            if (
                conn.execute(delete(lt.logged_model_tags).where(tags.model_id == model_id, tags.key == key)).rowcount
                == 0
            ):
                raise NotFound(f"No tag with key {key!r} found for model with ID {model_id!r}.")

    def log_logged_model_params(self, model_id: str, params: Mapping[str, str]) -> None:
        for key, value in params.items():
            validation.validate_param(Param(key, value))
        with self.db.write() as conn:
            self._model_row(conn, model_id)
            p = lt.logged_model_params.c
            query = select(p.key, p.value).where(p.model_id == model_id, p.key.in_(list(params)))
            existing = {key: value for key, value in conn.execute(query).all()}
            for key, value in existing.items():
                if params[key] != value:
                    raise InvalidInput(
                        f"changing param values is not allowed: param {key!r} of model {model_id!r} "
                        f"was logged as {value!r}, now {params[key]!r}"
                    )
            fresh = [{"model_id": model_id, "key": k, "value": v} for k, v in params.items() if k not in existing]
            if fresh:
                conn.execute(lt.logged_model_params.insert(), fresh)

    def search_logged_models(
        self,
        experiment_ids: Sequence[str],
        filter_string: str | None = None,
        datasets: Sequence[DatasetFilter] | None = None,
        max_results: int | None = None,
        order_by: Sequence[LoggedModelOrder] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        if not experiment_ids:
            raise InvalidInput("search_logged_models needs at least one experiment id")
        ids = []
        for experiment_id in experiment_ids:
            try:
                ids.append(int(experiment_id))
            except (TypeError, ValueError):
                raise InvalidInput(f"invalid experiment id {experiment_id!r}: it must be an integer") from None
        datasets = list(datasets or [])
        if any(not d.dataset_name for d in datasets):
            raise InvalidInput("`dataset_name` in the `datasets` clause must be specified.")
        limit = validation.validate_max_results(max_results) if max_results else SEARCH_DEFAULT_MAX_RESULTS
        orders = list(order_by or [])
        order_key = [asdict(o) for o in orders] or None
        experiment_keys = [str(e) for e in experiment_ids]
        offset = logged_model_search.decode_token(page_token, experiment_keys, filter_string, order_key)
        query = logged_model_search.build_query(ids, filter_string, datasets, orders)
        with self.db.read() as conn:
            found = list(conn.execute(query.limit(limit + 1).offset(offset)).scalars())
            models = load_models(conn, found[:limit])
        token = None
        if len(found) > limit:
            token = logged_model_search.encode_token(offset + limit, experiment_keys, filter_string, order_key)
        return PagedList(models, token)

    def log_outputs(self, run_id: str, models: Sequence[ModelOutput]) -> None:
        for output in models:
            validate_model_id(output.model_id)
            if isinstance(output.step, bool) or not isinstance(output.step, int) or abs(output.step) >= 2**63:
                raise InvalidInput(f"the step of model output {output.model_id!r} must be a 64-bit integer")
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            if models:
                conn.execute(
                    lt.run_model_links.insert(),
                    [
                        {"run_uuid": run_id, "direction": "output", "model_id": m.model_id, "step": m.step}
                        for m in models
                    ],
                )


def new_run_metric_rows(conn: Connection, run_id: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (of the run's metrics table) without the points the run already has or that repeat
    in the batch: MLflow 3 re-logs a run's metrics with a ``model_id`` to link them to a model,
    and that must not duplicate the run's history."""
    m = t.metrics.c
    keys = {row["key"] for row in rows}
    existing = set(
        conn.execute(
            select(m.key, m.timestamp, m.step, m.value, m.is_nan).where(m.run_uuid == run_id, m.key.in_(keys))
        ).tuples()
    )
    fresh = []
    for row in rows:
        point = (row["key"], row["timestamp"], row["step"], row["value"], row["is_nan"])
        if point not in existing:
            existing.add(point)
            fresh.append(row)
    return fresh
