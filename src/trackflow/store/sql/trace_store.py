"""GenAI traces on SQLAlchemy Core: trace infos, spans (one row each, so a 50,000-span trace
pages by start time instead of loading whole), assessments and run links.

Spans arrive through OTLP before or after their trace's info (MLflow's client logs spans first,
then StartTraceV3): whichever comes first creates the trace row, the other completes it.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, and_, cast, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB

from trackflow.entities import PagedList
from trackflow.entities.traces import Assessment, SpanEvent, SpanRecord, SpanStatus, TraceInfo, TraceState
from trackflow.errors import InvalidInput, NotFound
from trackflow.store.paging import decode_page_token, encode_page_token
from trackflow.store.search_filter import Comparison, OrderBy, parse_trace_filter, parse_trace_order_by
from trackflow.store.sql import tables as t
from trackflow.store.sql import trace_tables as tt
from trackflow.store.sql.database import Database
from trackflow.store.sql.predicates import compare, with_integer_value
from trackflow.store.sql.rows import insert_for

SPANS_LOCATION = "mlflow.trace.spansLocation"
LINKED_PROMPTS = "mlflow.linkedPrompts"  # trace tag: the prompt versions the trace used (MLflow's)
ARTIFACT_LOCATION = "mlflow.artifactLocation"
TRACE_NAME = "mlflow.traceName"
SOURCE_RUN = "mlflow.sourceRun"
TRACE_INPUTS, TRACE_OUTPUTS = "mlflow.traceInputs", "mlflow.traceOutputs"
PREVIEW_CHARS = 1000  # MLflow's request/response preview length
MAX_RESULTS = 500  # MLflow's search_traces page limit
MAX_LINKED_TRACES = 100


def _experiment_pk(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"experiment id must be an integer, got {experiment_id!r}") from None


class SqlTraceStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writes -------------------------------------------------------------------------------

    def log_spans(self, experiment_id: str, spans: Sequence[SpanRecord]) -> None:
        """Store (or replace) spans; each trace they name gets a row if it has none (in
        ``experiment_id``), and one whose root span ended takes its state and duration from it.
        NotFound for an unknown experiment."""
        if not spans:
            return
        pk = _experiment_pk(experiment_id)
        by_trace: dict[str, list[SpanRecord]] = defaultdict(list)
        for span in spans:
            by_trace[span.trace_id].append(span)
        with self.db.write() as conn:
            self._require_experiment(conn, pk)
            known = self._existing_traces(conn, list(by_trace))
            for trace_id, trace_spans in by_trace.items():
                root = next((s for s in trace_spans if s.parent_span_id is None), None)
                if trace_id not in known:
                    self._insert_trace_for_spans(conn, pk, trace_id, trace_spans, root)
                elif known[trace_id] != pk:
                    raise InvalidInput(f"trace {trace_id} belongs to experiment {known[trace_id]}, not {pk}")
                elif root is not None and root.end_time_ns is not None:
                    conn.execute(update(tt.traces).where(tt.traces.c.trace_id == trace_id).values(
                        **_root_summary(root)))
                self._upsert_spans(conn, trace_spans)
                self._merge(conn, tt.trace_tags, trace_id, {SPANS_LOCATION: "TRACKING_STORE"})

    def start_trace(self, info: TraceInfo, artifact_root: str) -> TraceInfo:
        """Record a finished trace's info (MLflow's StartTraceV3): create it, or complete the row
        its spans made; metadata and tags are merged. Returns the stored info."""
        pk = _experiment_pk(info.experiment_id)
        values = {
            "request_time": info.request_time,
            "execution_duration": info.execution_duration,
            "state": info.state.value,
            "request_preview": info.request_preview,
            "response_preview": info.response_preview,
            "client_request_id": info.client_request_id,
        }
        with self.db.write() as conn:
            self._require_experiment(conn, pk)
            known = self._existing_traces(conn, [info.trace_id])
            if info.trace_id in known:
                if known[info.trace_id] != pk:
                    raise InvalidInput(f"trace {info.trace_id} belongs to experiment {known[info.trace_id]}")
                conn.execute(update(tt.traces).where(tt.traces.c.trace_id == info.trace_id).values(**values))
            else:
                conn.execute(tt.traces.insert().values(trace_id=info.trace_id, experiment_id=pk, **values))
            self._merge(conn, tt.trace_metadata, info.trace_id, info.trace_metadata)
            tags = dict(info.tags)
            tags.pop(SPANS_LOCATION, None)  # where spans are is the store's to say
            tags[ARTIFACT_LOCATION] = f"{artifact_root.rstrip('/')}/traces/{info.trace_id}/artifacts"
            self._merge(conn, tt.trace_tags, info.trace_id, tags)
            return self._infos(conn, [info.trace_id])[0]

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        with self.db.write() as conn:
            self._require_trace(conn, trace_id)
            self._merge(conn, tt.trace_tags, trace_id, {key: value})

    def link_prompts_to_trace(self, trace_id: str, prompts: Sequence[dict[str, str]]) -> None:
        """Add prompt versions ({"name", "version"}) to the trace's ``mlflow.linkedPrompts`` tag, in
        one transaction with the trace row locked, so two concurrent links both stay."""
        with self.db.write() as conn:
            locked = conn.execute(select(tt.traces.c.trace_id).where(
                tt.traces.c.trace_id == trace_id).with_for_update()).first()
            if locked is None:
                raise NotFound(f"Trace with ID {trace_id} is not found.")
            raw = conn.execute(select(tt.trace_tags.c.value).where(
                tt.trace_tags.c.trace_id == trace_id, tt.trace_tags.c.key == LINKED_PROMPTS)).scalar()
            linked = json.loads(raw) if raw else []
            for entry in prompts:
                if entry not in linked:
                    linked.append(entry)
            self._merge(conn, tt.trace_tags, trace_id, {LINKED_PROMPTS: json.dumps(linked)})

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """NotFound if the trace or the tag does not exist (MLflow's answer)."""
        with self.db.write() as conn:
            self._require_trace(conn, trace_id)
            gone = conn.execute(delete(tt.trace_tags).where(
                tt.trace_tags.c.trace_id == trace_id, tt.trace_tags.c.key == key)).rowcount
            if not gone:
                raise NotFound(f"No trace tag with key '{key}' for trace with ID '{trace_id}'")

    def delete_traces(self, experiment_id: str, max_timestamp_millis: int | None = None,
                      max_traces: int | None = None, trace_ids: Sequence[str] | None = None) -> int:
        """Delete the given traces of the experiment, or its traces older than the timestamp
        (the oldest ``max_traces`` of them when given); returns how many went."""
        pk = _experiment_pk(experiment_id)
        query = select(tt.traces.c.trace_id).where(tt.traces.c.experiment_id == pk)
        if trace_ids is not None:
            query = query.where(tt.traces.c.trace_id.in_(list(trace_ids)))
        if max_timestamp_millis is not None:
            query = query.where(tt.traces.c.request_time <= max_timestamp_millis)
        if max_traces is not None:
            query = query.order_by(tt.traces.c.request_time).limit(max_traces)
        with self.db.write() as conn:
            ids = list(conn.execute(query).scalars())
            for chunk in _chunks(ids, 500):
                for table in (tt.spans, tt.trace_tags, tt.trace_metadata, tt.trace_runs, tt.assessments):
                    conn.execute(delete(table).where(table.c.trace_id.in_(chunk)))
                conn.execute(delete(tt.traces).where(tt.traces.c.trace_id.in_(chunk)))
            return len(ids)

    def link_traces_to_run(self, trace_ids: Sequence[str], run_id: str) -> None:
        if len(trace_ids) > MAX_LINKED_TRACES:
            raise InvalidInput(f"Cannot link more than {MAX_LINKED_TRACES} traces to a run in a single request. "
                               f"Provided {len(trace_ids)} traces.")
        with self.db.write() as conn:
            if conn.execute(select(t.runs.c.run_uuid).where(t.runs.c.run_uuid == run_id)).first() is None:
                raise NotFound(f"Run with id={run_id} not found")
            missing = set(trace_ids) - set(self._existing_traces(conn, list(trace_ids)))
            if missing:
                raise NotFound(f"Traces not found: {', '.join(sorted(missing))}")
            stmt = insert_for(conn, tt.trace_runs)
            for trace_id in dict.fromkeys(trace_ids):
                conn.execute(stmt.values(trace_id=trace_id, run_id=run_id).on_conflict_do_nothing())

    # -- assessments --------------------------------------------------------------------------

    def create_assessment(self, assessment: Assessment) -> Assessment:
        """Store a new assessment (its id is made here); one it overrides becomes invalid."""
        stored = Assessment(**{**assessment.__dict__, "assessment_id": "a-" + uuid.uuid4().hex})
        with self.db.write() as conn:
            self._require_trace(conn, stored.trace_id)
            if stored.overrides:
                self._require_assessment(conn, stored.trace_id, stored.overrides)
                conn.execute(update(tt.assessments).where(
                    tt.assessments.c.assessment_id == stored.overrides).values(valid=False))
            conn.execute(tt.assessments.insert().values(**_assessment_row(stored)))
        return stored

    def get_assessment(self, trace_id: str, assessment_id: str) -> Assessment:
        with self.db.read() as conn:
            return _assessment(self._require_assessment(conn, trace_id, assessment_id))

    def update_assessment(self, trace_id: str, assessment_id: str, changes: dict[str, Any], now_ms: int) -> Assessment:
        """Change name, value, rationale or metadata (merged) of an assessment."""
        with self.db.write() as conn:
            current = _assessment(self._require_assessment(conn, trace_id, assessment_id))
            if "value" in changes and current.kind != changes.get("kind", current.kind):
                raise InvalidInput(f"Cannot change the type of assessment {assessment_id} (it is a {current.kind})")
            merged = {**current.__dict__, **{k: v for k, v in changes.items() if k != "metadata"},
                      "last_update_time": now_ms}
            merged["metadata"] = {**current.metadata, **changes.get("metadata", {})}
            updated = Assessment(**merged)
            conn.execute(update(tt.assessments).where(tt.assessments.c.assessment_id == assessment_id).values(
                **_assessment_row(updated)))
            return updated

    def delete_assessment(self, trace_id: str, assessment_id: str) -> None:
        """Delete it; an assessment it had overridden becomes valid again. Idempotent."""
        with self.db.write() as conn:
            row = conn.execute(select(tt.assessments).where(
                tt.assessments.c.assessment_id == assessment_id, tt.assessments.c.trace_id == trace_id)).first()
            if row is None:
                return
            if row.overrides:
                conn.execute(update(tt.assessments).where(
                    tt.assessments.c.assessment_id == row.overrides).values(valid=True))
            conn.execute(delete(tt.assessments).where(tt.assessments.c.assessment_id == assessment_id))

    # -- reads --------------------------------------------------------------------------------

    def get_trace_info(self, trace_id: str) -> TraceInfo:
        with self.db.read() as conn:
            infos = self._infos(conn, [trace_id])
        if not infos:
            raise NotFound(f"Trace with ID {trace_id} is not found.")
        return infos[0]

    def batch_get_trace_infos(self, trace_ids: Sequence[str]) -> list[TraceInfo]:
        """The infos of the traces that exist, in the order asked."""
        with self.db.read() as conn:
            return self._infos(conn, list(trace_ids))

    def get_spans(self, trace_id: str, offset: int = 0, limit: int | None = None) -> list[SpanRecord]:
        """The trace's spans in start-time order, ``limit`` of them from ``offset``."""
        query = (select(tt.spans).where(tt.spans.c.trace_id == trace_id)
                 .order_by(tt.spans.c.start_time_ns, tt.spans.c.span_id).offset(offset))
        if limit is not None:
            query = query.limit(limit)
        with self.db.read() as conn:
            return [_span(row) for row in conn.execute(query)]

    def count_spans(self, trace_id: str) -> int:
        with self.db.read() as conn:
            count = select(func.count()).select_from(tt.spans).where(tt.spans.c.trace_id == trace_id)
            return conn.execute(count).scalar_one()

    def search_traces(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                      order_by: Sequence[str] | None = None, max_results: int = 100,
                      page_token: str | None = None) -> PagedList[TraceInfo]:
        """Traces of the experiments matching the filter (MLflow's trace grammar), newest first
        unless ordered otherwise; InvalidInput for a bad filter, order or page size."""
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidInput(f"max_results must be between 1 and {MAX_RESULTS}, got {max_results}")
        pks = [_experiment_pk(e) for e in experiment_ids]
        if not pks:
            raise InvalidInput("search_traces needs at least one experiment (locations)")
        comparisons = parse_trace_filter(filter_string)
        orders = [parse_trace_order_by(c) for c in order_by or []]
        offset = decode_page_token(page_token)
        query = select(tt.traces.c.trace_id).where(tt.traces.c.experiment_id.in_(pks))
        for comparison in comparisons:
            query = query.where(_clause(comparison, self.db.is_sqlite))
        for order in orders or [OrderBy("attribute", "timestamp_ms", False)]:
            column = _order_column(order.key)
            query = query.order_by(column.asc() if order.ascending else column.desc())
        query = query.order_by(tt.traces.c.trace_id).offset(offset).limit(max_results + 1)
        with self.db.read() as conn:
            ids = list(conn.execute(query).scalars())
            infos = self._infos(conn, ids[:max_results])
        token = encode_page_token(offset + max_results) if len(ids) > max_results else None
        return PagedList(infos, token)

    # -- helpers ------------------------------------------------------------------------------

    def _require_experiment(self, conn: Connection, pk: int) -> None:
        row = conn.execute(select(t.experiments.c.lifecycle_stage).where(t.experiments.c.experiment_id == pk)).first()
        if row is None:
            raise NotFound(f"No Experiment with id={pk} exists")

    def _require_trace(self, conn: Connection, trace_id: str) -> None:
        if not self._existing_traces(conn, [trace_id]):
            raise NotFound(f"Trace with ID {trace_id} is not found.")

    def _require_assessment(self, conn: Connection, trace_id: str, assessment_id: str) -> Any:
        row = conn.execute(select(tt.assessments).where(
            tt.assessments.c.assessment_id == assessment_id, tt.assessments.c.trace_id == trace_id)).first()
        if row is None:
            raise NotFound(f"Assessment with ID '{assessment_id}' not found for trace '{trace_id}'")
        return row

    @staticmethod
    def _existing_traces(conn: Connection, trace_ids: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for chunk in _chunks(trace_ids, 500):
            found.update((row.trace_id, row.experiment_id) for row in conn.execute(
                select(tt.traces.c.trace_id, tt.traces.c.experiment_id).where(tt.traces.c.trace_id.in_(chunk))))
        return found

    @staticmethod
    def _insert_trace_for_spans(conn: Connection, pk: int, trace_id: str, trace_spans: list[SpanRecord],
                                root: SpanRecord | None) -> None:
        values: dict[str, Any] = {
            "request_time": min(s.start_time_ns for s in trace_spans) // 1_000_000,
            "execution_duration": None,
            "state": TraceState.IN_PROGRESS.value,
        }
        if root is not None and root.end_time_ns is not None:
            values.update(_root_summary(root))
        conn.execute(tt.traces.insert().values(trace_id=trace_id, experiment_id=pk, **values))

    @staticmethod
    def _upsert_spans(conn: Connection, trace_spans: Iterable[SpanRecord]) -> None:
        rows = [_span_row(s) for s in trace_spans]
        stmt = insert_for(conn, tt.spans)
        stmt = stmt.on_conflict_do_update(
            index_elements=[tt.spans.c.trace_id, tt.spans.c.span_id],
            set_={c.name: stmt.excluded[c.name] for c in tt.spans.columns if not c.primary_key},
        )
        for chunk in _chunks(rows, 500):
            conn.execute(stmt, chunk)

    @staticmethod
    def _merge(conn: Connection, table: Any, trace_id: str, values: dict[str, str]) -> None:
        if not values:
            return
        stmt = insert_for(conn, table)
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.trace_id, table.c.key],
                                          set_={"value": stmt.excluded.value})
        conn.execute(stmt, [{"trace_id": trace_id, "key": k, "value": v} for k, v in values.items()])

    @staticmethod
    def _infos(conn: Connection, trace_ids: list[str]) -> list[TraceInfo]:
        rows: dict[str, Any] = {}
        meta: dict[str, dict[str, str]] = defaultdict(dict)
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        found: dict[str, list[Assessment]] = defaultdict(list)
        for chunk in _chunks(list(dict.fromkeys(trace_ids)), 500):
            rows.update((r.trace_id, r) for r in conn.execute(select(tt.traces).where(tt.traces.c.trace_id.in_(chunk))))
            for table, into in ((tt.trace_metadata, meta), (tt.trace_tags, tags)):
                for trace_id, key, value in conn.execute(
                        select(table.c.trace_id, table.c.key, table.c.value).where(table.c.trace_id.in_(chunk))):
                    into[trace_id][key] = value
            for row in conn.execute(select(tt.assessments).where(tt.assessments.c.trace_id.in_(chunk))
                                    .order_by(tt.assessments.c.create_time)):
                found[row.trace_id].append(_assessment(row))
        return [
            TraceInfo(
                trace_id=r.trace_id, experiment_id=str(r.experiment_id), request_time=r.request_time,
                execution_duration=r.execution_duration, state=TraceState(r.state),
                request_preview=r.request_preview, response_preview=r.response_preview,
                client_request_id=r.client_request_id, trace_metadata=meta[r.trace_id], tags=tags[r.trace_id],
                assessments=found[r.trace_id],
            )
            for trace_id in trace_ids if (r := rows.get(trace_id)) is not None
        ]


def _root_summary(root: SpanRecord) -> dict[str, Any]:
    assert root.end_time_ns is not None
    summary: dict[str, Any] = {
        "request_time": root.start_time_ns // 1_000_000,
        "execution_duration": (root.end_time_ns - root.start_time_ns) // 1_000_000,
        "state": (TraceState.ERROR if root.status is SpanStatus.ERROR else TraceState.OK).value,
    }
    for column, key in (("request_preview", "mlflow.spanInputs"), ("response_preview", "mlflow.spanOutputs")):
        if key in root.attributes:
            summary[column] = root.attributes[key][:PREVIEW_CHARS]
    return summary


def _span_row(span: SpanRecord) -> dict[str, Any]:
    return {
        "trace_id": span.trace_id, "span_id": span.span_id, "parent_span_id": span.parent_span_id,
        "name": span.name, "span_type": span.span_type, "status": span.status.value,
        "status_message": span.status_message, "start_time_ns": span.start_time_ns, "end_time_ns": span.end_time_ns,
        "kind": span.kind, "attributes": json.dumps(span.attributes),
        "events": json.dumps([[e.name, e.time_unix_nano, e.attributes] for e in span.events]),
    }


def _span(row: Any) -> SpanRecord:
    return SpanRecord(
        trace_id=row.trace_id, span_id=row.span_id, parent_span_id=row.parent_span_id, name=row.name,
        start_time_ns=row.start_time_ns, end_time_ns=row.end_time_ns, status=SpanStatus(row.status),
        status_message=row.status_message, attributes=orjson.loads(row.attributes),
        events=tuple(SpanEvent(n, ts, a) for n, ts, a in orjson.loads(row.events)), kind=row.kind,
    )


def _assessment_row(a: Assessment) -> dict[str, Any]:
    return {
        "assessment_id": a.assessment_id, "trace_id": a.trace_id, "name": a.name, "kind": a.kind,
        "source_type": a.source_type, "source_id": a.source_id, "create_time": a.create_time,
        "last_update_time": a.last_update_time, "value": None if a.value is None else json.dumps(a.value),
        "error": None if a.error is None else json.dumps(a.error), "rationale": a.rationale,
        "assessment_metadata": json.dumps(a.metadata), "span_id": a.span_id, "run_id": a.run_id,
        "overrides": a.overrides, "valid": a.valid,
    }


def _assessment(row: Any) -> Assessment:
    return Assessment(
        assessment_id=row.assessment_id, trace_id=row.trace_id, name=row.name, source_type=row.source_type,
        source_id=row.source_id, create_time=row.create_time, last_update_time=row.last_update_time,
        kind=row.kind, value=None if row.value is None else json.loads(row.value),
        error=None if row.error is None else json.loads(row.error), rationale=row.rationale,
        metadata=json.loads(row.assessment_metadata), span_id=row.span_id, run_id=row.run_id,
        overrides=row.overrides, valid=bool(row.valid),
    )


def _keyed(table: Any, key: str, comparison: Comparison) -> Any:
    """A trace has a tag/metadata ``key`` whose value satisfies the comparison."""
    row_matches = and_(table.c.trace_id == tt.traces.c.trace_id, table.c.key == key)
    if comparison.op == "IS NULL":
        return ~exists().where(row_matches)
    if comparison.op == "IS NOT NULL":
        return exists().where(row_matches)
    return exists().where(row_matches, compare(table.c.value, comparison))


def _span_attribute(c: Comparison, sqlite: bool) -> Any:
    """span.attributes.<key> compared with the decoded value: values are stored JSON-encoded
    (the string gpt-4 as '"gpt-4"'), so the filter's value is encoded the same way."""
    key = c.key.removeprefix("attributes.")
    column = (func.json_extract(tt.spans.c.attributes, f'$."{key}"') if sqlite
              else cast(tt.spans.c.attributes, JSONB)[key].astext)
    value = c.value
    if c.op in ("LIKE", "ILIKE"):
        return compare(column, Comparison(c.kind, c.key, c.op, f'"{value}"'))
    # '3' matches the number 3 (stored 3) and the string "3" (stored "3").
    values = value if isinstance(value, tuple) else (value,)
    encoded = tuple(form for v in values for form in (json.dumps(v), str(v)))
    op = "NOT IN" if c.op in ("!=", "NOT IN") else "IN"
    return compare(column, Comparison(c.kind, c.key, op, encoded))


def _clause(c: Comparison, sqlite: bool) -> Any:
    traces = tt.traces.c
    if c.kind == "tag":
        return _keyed(tt.trace_tags, c.key, c)
    if c.kind == "metadata":
        return _keyed(tt.trace_metadata, c.key, c)
    if c.kind == "span":
        if c.key.startswith("attributes."):
            return exists().where(tt.spans.c.trace_id == traces.trace_id, _span_attribute(c, sqlite))
        column = {"name": tt.spans.c.name, "type": tt.spans.c.span_type, "status": tt.spans.c.status}[c.key]
        return exists().where(tt.spans.c.trace_id == traces.trace_id, compare(column, c))
    if c.kind in ("feedback", "expectation"):
        value = c.value
        encoded: Any = value
        if isinstance(value, tuple):
            encoded = tuple(_assessment_literal(v) for v in value)
        elif c.op in ("=", "!="):
            encoded = _assessment_literal(value)
        return exists().where(
            tt.assessments.c.trace_id == traces.trace_id, tt.assessments.c.name == c.key,
            tt.assessments.c.kind == c.kind, tt.assessments.c.valid.is_(True),
            compare(tt.assessments.c.value, Comparison(c.kind, c.key, c.op, encoded)))
    return _attribute_clause(c)


def _assessment_literal(value: Any) -> str:
    """A filter value as stored (JSON): 'true', 'yes', '0.5' and plain words compare as MLflow does."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    try:
        return json.dumps(json.loads(value))
    except (TypeError, ValueError):
        return json.dumps(value)


def _attribute_clause(c: Comparison) -> Any:
    traces = tt.traces.c
    if c.key == "name":
        return _keyed(tt.trace_tags, TRACE_NAME, c)
    if c.key == "run_id":
        linked = exists().where(tt.trace_runs.c.trace_id == traces.trace_id, compare(tt.trace_runs.c.run_id, c))
        return or_(_keyed(tt.trace_metadata, SOURCE_RUN, c), linked)
    if c.key == "status":
        return compare(traces.state, c)
    if c.key == "experiment_id":
        return compare(traces.experiment_id, with_integer_value(c))
    return compare(_order_column(c.key), c)


def _order_column(key: str) -> Any:
    traces = tt.traces.c
    columns = {
        "timestamp_ms": traces.request_time,
        "execution_time_ms": traces.execution_duration,
        "end_time_ms": traces.request_time + func.coalesce(traces.execution_duration, 0),
        "trace_id": traces.trace_id,
        "status": traces.state,
        "client_request_id": traces.client_request_id,
        "experiment_id": traces.experiment_id,
    }
    if key == "name":
        return (select(tt.trace_tags.c.value).where(tt.trace_tags.c.trace_id == traces.trace_id,
                                                    tt.trace_tags.c.key == TRACE_NAME).scalar_subquery())
    if key == "run_id":
        return (select(tt.trace_metadata.c.value).where(tt.trace_metadata.c.trace_id == traces.trace_id,
                                                        tt.trace_metadata.c.key == SOURCE_RUN).scalar_subquery())
    return columns[key]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

