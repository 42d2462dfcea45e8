"""The pipeline store contract, on SQLite and PostgreSQL: one transaction per method,
compare-and-set transitions, nothing half-created."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trackflow.entities.pipelines import DagRun, LineageEdge, TaskOutput
from trackflow.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from trackflow.store.pipeline_base import NewTaskInstance, Transition
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlPipelineStore]:
    uri = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    yield SqlPipelineStore(db)
    db.dispose()


def new_run(store: SqlPipelineStore, dag_id: str, run_id: str = "r1", tasks: tuple[str, ...] = ("a", "b"),
            run_type: str = "manual", date: datetime = NOW) -> DagRun:
    run = DagRun(dag_id, run_id, "queued", run_type, date, date, date, date, conf={"k": 1}, queued_at=NOW)
    return store.create_dag_run(run, [NewTaskInstance(t, max_tries=1) for t in tasks])


def dag_id() -> str:
    return f"d_{uuid.uuid4().hex[:8]}"


def test_sync_dags_pause_and_import_errors(store: SqlPipelineStore) -> None:
    a, b = dag_id(), dag_id()
    specs = [{"dag_id": a, "fileloc": "/f1.py", "tasks": []}, {"dag_id": b, "fileloc": "/f1.py", "tasks": []}]
    store.sync_dags(specs, {"/bad.py": "Traceback: boom"}, ["/f1.py", "/bad.py"], NOW)
    assert store.get_dag(a).is_active and not store.get_dag(a).is_paused
    assert store.set_paused(a, True).is_paused
    store.sync_dags(specs[:1], {}, ["/f1.py", "/bad.py"], NOW)  # b vanished, bad.py fixed
    assert store.get_dag(a).is_paused  # pausing survives re-parsing
    assert not store.get_dag(b).is_active
    assert all(e.fileloc != "/bad.py" for e in store.list_import_errors())
    with pytest.raises(NotFound, match="nope"):
        store.get_dag("nope")


def test_runs_are_unique_and_created_with_their_task_instances(store: SqlPipelineStore) -> None:
    d = dag_id()
    new_run(store, d, "r1", run_type="scheduled")
    with pytest.raises(AlreadyExists, match="r1"):
        new_run(store, d, "r1")
    with pytest.raises(AlreadyExists, match="logical date"):
        new_run(store, d, "r2", run_type="backfill")
    assert [r.run_id for r in store.list_dag_runs(d)] == ["r1"]
    assert {t.task_id for t in store.list_task_instances(d, "r1")} == {"a", "b"}
    assert store.get_dag_run(d, "r1").conf == {"k": 1}
    assert store.update_dag_run(d, "r1", "running", NOW).start_date == NOW
    assert store.update_dag_run(d, "r1", "success", NOW + timedelta(seconds=1)).end_date is not None
    assert store.last_automated_run(d).run_id == "r1"  # type: ignore[union-attr]


def test_try_lifecycle_is_compare_and_set(store: SqlPipelineStore) -> None:
    d = dag_id()
    new_run(store, d)
    [queued] = store.queue_task_instances(d, "r1", [("a", -1)], NOW)
    assert queued.state == "queued" and queued.try_number == 1 and queued.token
    assert store.queue_task_instances(d, "r1", [("a", -1)], NOW) == []  # already queued
    with pytest.raises(Conflict):
        store.start_try(d, "r1", ("a", -1), "stale-token", NOW, "h", 1, "/log", None)
    running = store.start_try(d, "r1", ("a", -1), queued.token, NOW, "h", 42, "/log", "trk")
    assert running.state == "running" and running.pid == 42
    assert store.heartbeat(d, "r1", ("a", -1), queued.token, NOW)
    assert not store.heartbeat(d, "r1", ("a", -1), "other", NOW)
    assert store.finish_try(d, "r1", ("a", -1), queued.token, "success", NOW, skip_task_ids=["b"])
    assert not store.finish_try(d, "r1", ("a", -1), queued.token, "failed", NOW)  # no longer running
    states = {t.task_id: t.state for t in store.list_task_instances(d, "r1")}
    assert states == {"a": "success", "b": "skipped"}
    [attempt] = store.list_tries(d, "r1", "a")
    assert (attempt.try_number, attempt.state, attempt.tracking_run_id) == (1, "success", "trk")


def test_transitions_apply_only_from_the_expected_state(store: SqlPipelineStore) -> None:
    d = dag_id()
    new_run(store, d)
    moved = store.apply_transitions(d, "r1", [Transition(("a", -1), None, "skipped"),
                                              Transition(("b", -1), "running", "failed")], NOW)
    assert moved == [("a", -1)]


def test_expand_clear_and_mark(store: SqlPipelineStore) -> None:
    d = dag_id()
    new_run(store, d, tasks=("m", "z"))
    store.expand_task(d, "r1", "m", 3)
    assert sorted(t.map_index for t in store.list_task_instances(d, "r1") if t.task_id == "m") == [0, 1, 2]
    store.expand_task(d, "r1", "z", 0)
    assert store.get_task_instance(d, "r1", "z").state == "skipped"
    store.update_dag_run(d, "r1", "failed", NOW)
    assert {t.task_id for t in store.clear_task_instances(d, "r1", ["m"], {"m": 2}, NOW)} == {"m"}
    placeholder = store.get_task_instance(d, "r1", "m", -1)
    assert placeholder.state is None and placeholder.max_tries == 2
    assert store.get_dag_run(d, "r1").state == "queued"
    assert [t.task_id for t in store.mark_task_instances(d, "r1", ["m"], "success", NOW)] == ["m"]
    with pytest.raises(InvalidInput, match="running"):
        store.mark_task_instances(d, "r1", ["m"], "running", NOW)
    with pytest.raises(NotFound):
        store.clear_task_instances(d, "nope", ["m"], {}, NOW)


def test_outputs_lengths_and_lineage(store: SqlPipelineStore) -> None:
    d = dag_id()
    new_run(store, d, tasks=("p", "q"))
    store.put_output(TaskOutput(d, "r1", "p", -1, "return_value", "json", b"[1,2,3]", None, 7, 3), NOW)
    for i in range(2):
        store.put_output(TaskOutput(d, "r1", "q", i, "return_value", "json", b"1", None, 1, None), NOW)
    assert store.output_lengths(d, "r1") == {("p", "return_value"): 3, ("q", "return_value"): 2}
    assert [o.map_index for o in store.get_outputs(d, "r1", "q")] == [0, 1]
    edge = LineageEdge(d, "r1", "p", -1, "return_value", "q", 0)
    store.record_lineage([edge, edge])
    assert store.get_lineage(d, "r1") == [edge]


def test_pools(store: SqlPipelineStore) -> None:
    name = f"pool_{uuid.uuid4().hex[:6]}"
    assert store.set_pool(name, 3).slots == 3
    assert store.set_pool(name, 5).slots == 5
    assert any(p.name == "default_pool" and p.slots == 128 for p in store.list_pools())
    with pytest.raises(InvalidInput, match="slots"):
        store.set_pool(name, -1)
    with pytest.raises(InvalidInput, match="default_pool"):
        store.delete_pool("default_pool")
    store.delete_pool(name)
    with pytest.raises(NotFound):
        store.delete_pool(name)


def test_cleared_tasks_keep_counting_tries_mapped_or_not(store: SqlPipelineStore) -> None:
    """Airflow's semantics: try_number counts the tries made, max_tries is the try a retry is
    allowed up to; a clear grants ``retries`` more tries. A mapped task, cleared back to its
    placeholder and expanded again, counts on exactly like an unmapped one (it used to restart
    at try 0 with the raised max_tries: "1/5" and two tries too many)."""
    d = dag_id()
    run = DagRun(d, "r1", "running", "manual", NOW, NOW, NOW, NOW, queued_at=NOW)
    store.create_dag_run(run, [NewTaskInstance("plain", max_tries=2), NewTaskInstance("mapped", max_tries=2)])
    store.expand_task(d, "r1", "mapped", 2)
    keys = [("plain", -1), ("mapped", 0), ("mapped", 1)]

    def one_try(final: str) -> None:
        for ti in store.queue_task_instances(d, "r1", keys, NOW):
            key = (ti.task_id, ti.map_index)
            assert ti.token is not None
            store.start_try(d, "r1", key, ti.token, NOW, "h", 1, "", None)
            assert store.finish_try(d, "r1", key, ti.token, final, NOW)

    one_try("up_for_retry")
    one_try("success")
    assert {(t.task_id, t.try_number, t.max_tries) for t in store.list_task_instances(d, "r1")} == {
        ("plain", 2, 2), ("mapped", 2, 2)}
    store.clear_task_instances(d, "r1", ["plain", "mapped"], {"plain": 2, "mapped": 2}, NOW)
    store.expand_task(d, "r1", "mapped", 2)
    after = {(t.task_id, t.map_index): (t.try_number, t.max_tries) for t in store.list_task_instances(d, "r1")}
    assert after == {k: (2, 4) for k in keys}  # tries 3, 4 and 5 remain: retries + 1
    one_try("up_for_retry")
    shown = {(t.task_id, t.map_index): f"{t.try_number}/{t.max_tries + 1}" for t in store.list_task_instances(d, "r1")}
    assert shown == {k: "3/5" for k in keys}
