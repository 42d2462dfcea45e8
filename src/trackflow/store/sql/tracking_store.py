"""The SQL implementation of TrackingStore (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from trackflow.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    MetricSeriesSample,
    ModelOutput,
    PagedList,
    Param,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    RunTag,
    ViewType,
)
from trackflow.entities.assets import NewAssetEvent
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.store import validation
from trackflow.store.names import generate_run_name
from trackflow.store.paging import decode_page_token, encode_page_token
from trackflow.store.sql import experiment_search, metric_series, run_search
from trackflow.store.sql import tables as t
from trackflow.store.sql.asset_store import record_events_in as record_asset_events_in
from trackflow.store.sql.database import Database
from trackflow.store.sql.logged_model_store import LoggedModelSqlMixin, insert_model_metrics, new_run_metric_rows
from trackflow.store.sql.logged_model_tables import run_model_links
from trackflow.store.sql.rows import (
    assemble_runs,
    experiment_from_row,
    fetch_tuples,
    insert_for,
    join_uri,
    metric_row,
    run_info_from_row,
    upsert_latest_metrics,
)

RUN_NAME_TAG = "mlflow.runName"


def _now_ms() -> int:
    return int(time.time() * 1000)


def _experiment_pk(experiment_id: str | int) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"invalid experiment id {experiment_id!r}: it must be an integer") from None


class SqlTrackingStore(LoggedModelSqlMixin):
    """TrackingStore over SQLAlchemy Core. ``default_artifact_root`` is where experiments
    without an explicit artifact location keep their artifacts (a directory, s3:// URI or
    mlflow-artifacts:/ URI when the server proxies artifacts)."""

    def __init__(self, db: Database, default_artifact_root: str) -> None:
        self.db = db
        self.default_artifact_root = default_artifact_root

    # Experiments -------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: dict[str, str] | None = None
    ) -> str:
        validation.validate_experiment_name(name)
        for key, value in (tags or {}).items():
            validation.validate_tag(RunTag(key, value))
        now = _now_ms()
        try:
            with self.db.write() as conn:
                taken = conn.execute(
                    select(t.experiments.c.lifecycle_stage).where(t.experiments.c.name == name)
                ).first()
                if taken is not None:
                    hint = (
                        " (it is deleted: restore it or purge it with `trackflow gc`)" if taken[0] == "deleted" else ""
                    )
                    raise AlreadyExists(f"experiment {name!r} already exists{hint}")
                experiment_id = conn.execute(
                    t.experiments.insert().values(
                        name=name,
                        artifact_location=artifact_location or "",
                        lifecycle_stage="active",
                        creation_time=now,
                        last_update_time=now,
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                if not artifact_location:
                    conn.execute(
                        update(t.experiments)
                        .where(t.experiments.c.experiment_id == experiment_id)
                        .values(artifact_location=join_uri(self.default_artifact_root, str(experiment_id)))
                    )
                if tags:
                    conn.execute(
                        t.experiment_tags.insert(),
                        [{"experiment_id": experiment_id, "key": k, "value": v} for k, v in tags.items()],
                    )
        except IntegrityError:
            raise AlreadyExists(f"experiment {name!r} already exists") from None
        return str(experiment_id)

    def _experiment_tags(self, conn: Connection, ids: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {i: {} for i in ids}
        if ids:
            rows = conn.execute(select(t.experiment_tags).where(t.experiment_tags.c.experiment_id.in_(ids)))
            for row in rows:
                out[row.experiment_id][row.key] = row.value
        return out

    def _experiments_from_rows(self, conn: Connection, rows: Sequence) -> list[Experiment]:
        tags = self._experiment_tags(conn, [r.experiment_id for r in rows])
        return [experiment_from_row(r, tags[r.experiment_id], self.default_artifact_root) for r in rows]

    def get_experiment(self, experiment_id: str) -> Experiment:
        pk = _experiment_pk(experiment_id)
        with self.db.read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.experiment_id == pk)).first()
            if row is None:
                raise NotFound(f"no experiment with id {experiment_id!r}")
            return self._experiments_from_rows(conn, [row])[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as conn:
            row = conn.execute(select(t.experiments).where(t.experiments.c.name == name)).first()
            return None if row is None else self._experiments_from_rows(conn, [row])[0]

    def search_experiments(
        self,
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Experiment]:
        validation.validate_max_results(max_results)
        offset = decode_page_token(page_token)
        query = experiment_search.build_query(view_type, filter_string, order_by)
        with self.db.read() as conn:
            rows = conn.execute(query.limit(max_results + 1).offset(offset)).all()
            items = self._experiments_from_rows(conn, rows[:max_results])
        token = encode_page_token(offset + max_results) if len(rows) > max_results else None
        return PagedList(items, token)

    def _require_experiment(  # noqa: ANN202
        self, conn: Connection, experiment_id: str, active: bool = True, deleted_error: type[Exception] = InvalidInput
    ):
        pk = _experiment_pk(experiment_id)
        row = conn.execute(select(t.experiments).where(t.experiments.c.experiment_id == pk)).first()
        if row is None:
            raise NotFound(f"no experiment with id {experiment_id!r}")
        if active and row.lifecycle_stage != "active":
            raise deleted_error(f"experiment {experiment_id!r} is deleted: restore it first")
        return row

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        validation.validate_experiment_name(new_name)
        try:
            with self.db.write() as conn:
                row = self._require_experiment(conn, experiment_id, deleted_error=Conflict)
                if row.name == new_name:
                    return
                if conn.execute(select(t.experiments.c.experiment_id).where(t.experiments.c.name == new_name)).first():
                    raise AlreadyExists(f"experiment {new_name!r} already exists")
                conn.execute(
                    update(t.experiments)
                    .where(t.experiments.c.experiment_id == row.experiment_id)
                    .values(name=new_name, last_update_time=_now_ms())
                )
        except IntegrityError:
            raise AlreadyExists(f"experiment {new_name!r} already exists") from None

    def delete_experiment(self, experiment_id: str) -> None:
        now = _now_ms()
        with self.db.write() as conn:
            # An experiment deleted already is not among those that can be deleted (as in MLflow).
            row = self._require_experiment(conn, experiment_id, deleted_error=NotFound)
            if row.experiment_id == 0:
                raise InvalidInput("the Default experiment (id 0) cannot be deleted")
            # Runs deleted on their own earlier must not share this deleted_time (same
            # millisecond), or restore_experiment would bring them back too.
            latest = conn.execute(
                select(func.max(t.runs.c.deleted_time)).where(t.runs.c.experiment_id == row.experiment_id)
            ).scalar()
            if latest is not None and latest >= now:
                now = latest + 1
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage="deleted", deleted_time=now, last_update_time=now)
            )
            # Runs deleted together with their experiment carry its deleted_time, so a
            # restore brings back exactly those.
            conn.execute(
                update(t.runs)
                .where(t.runs.c.experiment_id == row.experiment_id, t.runs.c.lifecycle_stage == "active")
                .values(lifecycle_stage="deleted", deleted_time=now)
            )

    def restore_experiment(self, experiment_id: str) -> None:
        with self.db.write() as conn:
            row = self._require_experiment(conn, experiment_id, active=False)
            if row.lifecycle_stage != "deleted":  # not among the deleted ones (as in MLflow)
                raise NotFound(f"experiment {experiment_id!r} is not deleted")
            conn.execute(
                update(t.runs)
                .where(t.runs.c.experiment_id == row.experiment_id, t.runs.c.deleted_time == row.deleted_time)
                .values(lifecycle_stage="active", deleted_time=None)
            )
            conn.execute(
                update(t.experiments)
                .where(t.experiments.c.experiment_id == row.experiment_id)
                .values(lifecycle_stage="active", deleted_time=None, last_update_time=_now_ms())
            )

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        validation.validate_tag(RunTag(key, value))
        with self.db.write() as conn:
            row = self._require_experiment(conn, experiment_id)
            stmt = insert_for(conn, t.experiment_tags).values(experiment_id=row.experiment_id, key=key, value=value)
            conn.execute(stmt.on_conflict_do_update(index_elements=["experiment_id", "key"], set_={"value": value}))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        with self.db.write() as conn:
            row = self._require_experiment(conn, experiment_id)
            deleted = conn.execute(
                delete(t.experiment_tags).where(
                    t.experiment_tags.c.experiment_id == row.experiment_id, t.experiment_tags.c.key == key
                )
            )
            if deleted.rowcount == 0:
                raise NotFound(f"experiment {experiment_id!r} has no tag {key!r}")

    # Runs --------------------------------------------------------------------------------
    def create_run(
        self,
        experiment_id: str,
        user_id: str = "",
        start_time: int | None = None,
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> Run:
        tag_map = {tag.key: tag.value for tag in tags}
        for tag in tags:
            validation.validate_tag(tag)
        if run_name is not None and tag_map.get(RUN_NAME_TAG, run_name) != run_name:
            raise InvalidInput(f"run_name {run_name!r} and tag {RUN_NAME_TAG}={tag_map[RUN_NAME_TAG]!r} disagree")
        name = validation.validate_run_name(run_name or tag_map.get(RUN_NAME_TAG) or generate_run_name())
        tag_map[RUN_NAME_TAG] = name
        run_id = uuid.uuid4().hex
        with self.db.write() as conn:
            experiment = self._require_experiment(conn, experiment_id)
            location = experiment.artifact_location or join_uri(
                self.default_artifact_root, str(experiment.experiment_id)
            )
            info = RunInfo(
                run_id=run_id,
                experiment_id=str(experiment.experiment_id),
                run_name=name,
                user_id=user_id or "",
                status=RunStatus.RUNNING,
                start_time=start_time if start_time is not None else _now_ms(),
                end_time=None,
                artifact_uri=join_uri(location, run_id, "artifacts"),
            )
            conn.execute(
                t.runs.insert().values(
                    run_uuid=run_id,
                    experiment_id=experiment.experiment_id,
                    name=name,
                    user_id=info.user_id,
                    status=info.status.value,
                    start_time=info.start_time,
                    end_time=None,
                    lifecycle_stage="active",
                    artifact_uri=info.artifact_uri,
                )
            )
            conn.execute(t.tags.insert(), [{"run_uuid": run_id, "key": k, "value": v} for k, v in tag_map.items()])
        # A new run holds exactly what was just written: no need to read it back.
        return Run(info=info, data=RunData(tags=tag_map))

    def _load_runs(self, conn: Connection, run_ids: Sequence[str], with_inputs: bool = True) -> list[Run]:
        """Runs in the order of ``run_ids``, with their data."""
        if not run_ids:
            return []
        ids = list(run_ids)
        # fetchall() and tuple unpacking: searches load thousands of rows, and per-row fetching
        # with attribute access was most of their time.
        p, g, m = t.params.c, t.tags.c, t.latest_metrics.c
        runs = assemble_runs(
            conn.execute(select(t.runs).where(t.runs.c.run_uuid.in_(ids))).all(),
            conn.execute(select(p.run_uuid, p.key, p.value).where(p.run_uuid.in_(ids))).all(),
            conn.execute(select(g.run_uuid, g.key, g.value).where(g.run_uuid.in_(ids))).all(),
            conn.execute(
                select(m.run_uuid, m.key, m.value, m.is_nan, m.timestamp, m.step).where(m.run_uuid.in_(ids))
            ).all(),
            conn.execute(select(t.run_inputs).where(t.run_inputs.c.run_uuid.in_(ids))).all() if with_inputs else (),
        )
        by_id = {run.info.run_id: run for run in runs}
        if with_inputs:
            links = run_model_links.c
            query = select(links.run_uuid, links.direction, links.model_id, links.step).where(links.run_uuid.in_(ids))
            for run_uuid, direction, model_id, step in conn.execute(query.order_by(links.link_id)):
                run = by_id[run_uuid]
                if direction == "output":
                    run.outputs.models.append(ModelOutput(model_id, step))
                else:
                    run.inputs.model_ids.append(model_id)
        return [by_id[i] for i in ids if i in by_id]

    def get_run(self, run_id: str) -> Run:
        validation.validate_run_id(run_id)
        with self.db.read() as conn:
            runs = self._load_runs(conn, [run_id])
        if not runs:
            raise NotFound(f"no run with id {run_id!r}")
        return runs[0]

    def _require_run(self, conn: Connection, run_id: str, active: bool = True):  # noqa: ANN202
        validation.validate_run_id(run_id)
        row = conn.execute(select(t.runs).where(t.runs.c.run_uuid == run_id)).first()
        if row is None:
            raise NotFound(f"no run with id {run_id!r}")
        if active and row.lifecycle_stage != "active":
            raise InvalidInput(f"run {run_id!r} is deleted: it must be active to be changed")
        return row

    def update_run_info(
        self,
        run_id: str,
        status: RunStatus | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo:
        values: dict[str, object] = {}
        if status is not None:
            values["status"] = RunStatus(status).value
        if end_time is not None:
            values["end_time"] = end_time
        if run_name:
            values["name"] = validation.validate_run_name(run_name)
        with self.db.write() as conn:
            before = self._require_run(conn, run_id)
            if values:
                conn.execute(update(t.runs).where(t.runs.c.run_uuid == run_id).values(**values))
            if run_name:
                self._upsert_tags(conn, run_id, [RunTag(RUN_NAME_TAG, run_name)])
            row = conn.execute(select(t.runs).where(t.runs.c.run_uuid == run_id)).one()
            if row.status == RunStatus.FINISHED and before.status != RunStatus.FINISHED:
                _experiment_updated(conn, row)
            return run_info_from_row(row)

    def delete_run(self, run_id: str) -> None:
        with self.db.write() as conn:
            self._require_run(conn, run_id, active=False)
            conn.execute(
                update(t.runs)
                .where(t.runs.c.run_uuid == run_id)
                .values(lifecycle_stage="deleted", deleted_time=_now_ms())
            )

    def restore_run(self, run_id: str) -> None:
        with self.db.write() as conn:
            row = self._require_run(conn, run_id, active=False)
            experiment = self._require_experiment(conn, str(row.experiment_id), active=False)
            if experiment.lifecycle_stage != "active":
                raise InvalidInput(f"run {run_id!r} belongs to a deleted experiment: restore the experiment first")
            conn.execute(
                update(t.runs).where(t.runs.c.run_uuid == run_id).values(lifecycle_stage="active", deleted_time=None)
            )

    def _upsert_tags(self, conn: Connection, run_id: str, tags: Sequence[RunTag]) -> None:
        if not tags:
            return
        latest = {tag.key: tag.value for tag in tags}
        stmt = insert_for(conn, t.tags)
        stmt = stmt.on_conflict_do_update(index_elements=["run_uuid", "key"], set_={"value": stmt.excluded.value})
        conn.execute(stmt, [{"run_uuid": run_id, "key": k, "value": v} for k, v in latest.items()])
        if RUN_NAME_TAG in latest:
            name = validation.validate_run_name(latest[RUN_NAME_TAG])
            conn.execute(update(t.runs).where(t.runs.c.run_uuid == run_id).values(name=name))

    def _insert_params(self, conn: Connection, run_id: str, params: Sequence[Param]) -> None:
        if not params:
            return
        wanted = {p.key: p.value for p in params}
        existing = conn.execute(
            select(t.params.c.key, t.params.c.value).where(
                t.params.c.run_uuid == run_id, t.params.c.key.in_(list(wanted))
            )
        ).all()
        for key, value in existing:
            if wanted[key] != value:
                raise InvalidInput(
                    f"changing param values is not allowed: param {key!r} of run {run_id!r} "
                    f"was logged as {value!r}, now {wanted[key]!r}"
                )
        fresh = [{"run_uuid": run_id, "key": k, "value": v} for k, v in wanted.items() if k not in dict(existing)]
        if fresh:
            conn.execute(insert_for(conn, t.params).on_conflict_do_nothing(), fresh)

    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
    ) -> None:
        validation.validate_batch(metrics, params, tags)
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            self._insert_params(conn, run_id, params)
            self._upsert_tags(conn, run_id, tags)
            if metrics:
                rows = [metric_row(run_id, m) for m in metrics]
                if any(m.model_id for m in metrics):  # MLflow 3 re-logs run metrics against a model
                    rows = new_run_metric_rows(conn, run_id, rows)
                    insert_model_metrics(conn, run_id, metrics)
                if rows:
                    conn.execute(t.metrics.insert(), rows)
                    upsert_latest_metrics(conn, rows)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            deleted = conn.execute(delete(t.tags).where(t.tags.c.run_uuid == run_id, t.tags.c.key == key))
            if deleted.rowcount == 0:
                raise NotFound(f"run {run_id!r} has no tag {key!r}")

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput], models: Sequence[str] = ()) -> None:
        for dataset in datasets:
            if not dataset.name or not dataset.digest:
                raise InvalidInput(
                    f"a dataset input needs a name and a digest, got {dataset.name!r}/{dataset.digest!r}"
                )
        with self.db.write() as conn:
            self._require_run(conn, run_id)
            if datasets:
                rows = [
                    {
                        "run_uuid": run_id,
                        "name": d.name,
                        "digest": d.digest,
                        "source_type": d.source_type,
                        "source": d.source,
                        "schema": d.schema,
                        "profile": d.profile,
                        "tags_json": json.dumps(d.tags),
                    }
                    for d in datasets
                ]
                conn.execute(insert_for(conn, t.run_inputs).on_conflict_do_nothing(), rows)
            if models:
                conn.execute(
                    run_model_links.insert(),
                    [{"run_uuid": run_id, "direction": "input", "model_id": m, "step": 0} for m in models],
                )

    def get_metric_history(
        self, run_id: str, key: str, max_results: int | None = None, page_token: str | None = None
    ) -> PagedList[Metric]:
        offset = decode_page_token(page_token)
        m = t.metrics.c
        query = (
            select(m.value, m.is_nan, m.timestamp, m.step)
            .where(m.run_uuid == run_id, m.key == key)
            .order_by(m.timestamp, m.step, m.value, m.id)  # MLflow's order
            .offset(offset)
        )
        if max_results is not None:
            query = query.limit(validation.validate_max_results(max_results) + 1)
        with self.db.read() as conn:
            self._require_run(conn, run_id, active=False)
            rows = fetch_tuples(conn, query)  # a 100,000-point history: a third of the time of Row objects
        token = None
        if max_results is not None and len(rows) > max_results:
            rows, token = rows[:max_results], encode_page_token(offset + max_results)
        nan = math.nan
        return PagedList([Metric(key, nan if is_nan else value, timestamp, step)
                          for value, is_nan, timestamp, step in rows], token)

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> PagedList[Run]:
        validation.validate_max_results(max_results)
        offset = decode_page_token(page_token)
        ids = [_experiment_pk(e) for e in experiment_ids]
        query = run_search.build_query(ids, filter_string, ViewType(view_type), order_by)
        with self.db.read() as conn:
            run_ids = list(conn.execute(query.limit(max_results + 1).offset(offset)).scalars())
            runs = self._load_runs(conn, run_ids[:max_results])
        token = encode_page_token(offset + max_results) if len(run_ids) > max_results else None
        return PagedList(runs, token)

    def count_runs(
        self, experiment_ids: Sequence[str], filter_string: str = "", view_type: ViewType = ViewType.ACTIVE_ONLY
    ) -> dict[str, int]:
        ids = [_experiment_pk(e) for e in experiment_ids]
        search = run_search.build_query(ids, filter_string, ViewType(view_type), None).order_by(None)
        matching = search.add_columns(t.runs.c.experiment_id).subquery()
        query = select(matching.c.experiment_id, func.count()).group_by(matching.c.experiment_id)
        counts = {str(i): 0 for i in ids}
        with self.db.read() as conn:
            for experiment_id, count in conn.execute(query):
                counts[str(experiment_id)] = count
        return counts

    def get_metric_series(
        self,
        run_ids: Sequence[str],
        key: str,
        axis: str = "step",
        low: int | None = None,
        high: int | None = None,
        max_points: int = 500,
    ) -> dict[str, MetricSeriesSample]:
        if axis not in metric_series.AXES:
            raise InvalidInput(f"axis must be one of {', '.join(metric_series.AXES)}, got {axis!r}")
        if max_points < 2:
            raise InvalidInput(f"max_points must be at least 2, got {max_points}")
        if low is not None and high is not None and low > high:
            raise InvalidInput(f"low ({low}) must not be greater than high ({high})")
        wanted = list(dict.fromkeys(run_ids))
        with self.db.read() as conn:
            known = set(conn.execute(select(t.runs.c.run_uuid).where(t.runs.c.run_uuid.in_(wanted))).scalars())
            missing = [r for r in wanted if r not in known]
            if missing:
                raise NotFound(f"no run with id {missing[0]!r}")
            return metric_series.read_series(conn, wanted, key, axis, low, high, max_points)

    # Garbage collection ------------------------------------------------------------------
    def list_deleted(self, older_than_ms: int | None = None) -> tuple[list[Run], list[Experiment]]:
        cutoff = _now_ms() - older_than_ms if older_than_ms is not None else None
        with self.db.read() as conn:
            run_query = select(t.runs.c.run_uuid).where(t.runs.c.lifecycle_stage == "deleted")
            exp_query = select(t.experiments).where(t.experiments.c.lifecycle_stage == "deleted")
            if cutoff is not None:
                run_query = run_query.where(func.coalesce(t.runs.c.deleted_time, 0) <= cutoff)
                exp_query = exp_query.where(func.coalesce(t.experiments.c.deleted_time, 0) <= cutoff)
            runs = self._load_runs(conn, list(conn.execute(run_query).scalars()), with_inputs=False)
            experiments = self._experiments_from_rows(conn, conn.execute(exp_query).all())
        return runs, experiments

    def purge_run(self, run_id: str) -> None:
        with self.db.write() as conn:
            row = self._require_run(conn, run_id, active=False)
            if row.lifecycle_stage != LifecycleStage.DELETED.value:
                raise InvalidInput(f"run {run_id!r} is active: delete it before purging")
            for table in (t.metrics, t.latest_metrics, t.params, t.tags, t.run_inputs):
                conn.execute(delete(table).where(table.c.run_uuid == run_id))
            conn.execute(delete(t.runs).where(t.runs.c.run_uuid == run_id))

    def purge_experiment(self, experiment_id: str) -> None:
        with self.db.write() as conn:
            row = self._require_experiment(conn, experiment_id, active=False)
            if row.lifecycle_stage != "deleted":
                raise InvalidInput(f"experiment {experiment_id!r} is active: delete it before purging")
            left = conn.execute(
                select(func.count()).select_from(t.runs).where(t.runs.c.experiment_id == row.experiment_id)
            ).scalar_one()
            if left:
                raise InvalidInput(f"experiment {experiment_id!r} still has {left} runs: purge them first")
            conn.execute(delete(t.experiment_tags).where(t.experiment_tags.c.experiment_id == row.experiment_id))
            conn.execute(delete(t.experiments).where(t.experiments.c.experiment_id == row.experiment_id))


def _experiment_updated(conn: Connection, run: Any) -> None:
    """trackflow's join: a tracked run that finishes updates the asset ``experiment://<name>``
    (extra: run_id, run_name, experiment_id), so a DAG can be scheduled on an experiment's new
    results — in the transaction that finishes it. Runs of pipelines (tagged ``dag_id``) do
    not: their DAGs' outlets say what they update."""
    if conn.execute(select(t.tags.c.key).where(t.tags.c.run_uuid == run.run_uuid, t.tags.c.key == "dag_id")).first():
        return
    name = conn.execute(select(t.experiments.c.name).where(
        t.experiments.c.experiment_id == run.experiment_id)).scalar_one()
    asset = f"experiment://{name}"
    extra = {"run_id": run.run_uuid, "run_name": run.name, "experiment_id": str(run.experiment_id)}
    record_asset_events_in(conn, [NewAssetEvent(asset, asset, extra=extra, source="tracking")],
                           datetime.now(UTC))
