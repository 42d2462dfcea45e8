"""The one transition function (pipelines/state.py): which moves each actor may make (pure),
and compare-and-set on the state read and the try token, on SQLite and PostgreSQL: a caller
that lost the race learns it from the return value, a fenced try writes nothing."""

from __future__ import annotations

import ast
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from trackflow.entities import pipelines as entities
from trackflow.entities.pipelines import DagRun, TaskOutput
from trackflow.errors import InvalidInput
from trackflow.pipelines import state
from trackflow.pipelines.state import Actor, RunState, TIState
from trackflow.store.pipeline_base import NewTaskInstance, Transition
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.store.sql.pipeline_tables import dag_runs, task_instances, task_tries

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src" / "trackflow"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlPipelineStore]:
    uri = f"sqlite:///{tmp_path / 'p.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    yield SqlPipelineStore(db)
    db.dispose()


def new_run(store: SqlPipelineStore) -> DagRun:
    d = f"d_{uuid.uuid4().hex[:8]}"
    run = DagRun(d, "r1", RunState.QUEUED, "manual", NOW, NOW, NOW, NOW, queued_at=NOW)
    return store.create_dag_run(run, [NewTaskInstance("a", max_tries=1), NewTaskInstance("b")])


def running_try(store: SqlPipelineStore, run: DagRun) -> str:
    """Queue and claim task a; returns its try token."""
    token = state.queue(store, run.dag_id, run.run_id, [("a", -1)], NOW)[0].token
    assert token is not None
    assert state.start_try(store, run.dag_id, run.run_id, ("a", -1), token, NOW, "h", 1, "", None) is not None
    return token


def output(run: DagRun, value: bytes) -> TaskOutput:
    return TaskOutput(run.dag_id, run.run_id, "a", -1, "return_value", "json", value, None, len(value), None)


@pytest.mark.parametrize(("current", "target", "actor"), [
    (None, TIState.SCHEDULED, Actor.SCHEDULER),
    (TIState.UP_FOR_RETRY, TIState.QUEUED, Actor.SCHEDULER),
    (TIState.RUNNING, TIState.UP_FOR_RETRY, Actor.SCHEDULER),
    (TIState.QUEUED, TIState.SCHEDULED, Actor.SCHEDULER),
    (TIState.QUEUED, TIState.RUNNING, Actor.TASK),
    (TIState.RUNNING, TIState.SUCCESS, Actor.TASK),
    (TIState.RUNNING, None, Actor.OPERATOR),
    (TIState.SUCCESS, TIState.FAILED, Actor.OPERATOR),
    (TIState.RUNNING, TIState.UP_FOR_RESCHEDULE, Actor.TASK),  # a sensor gives its slot back
    (TIState.RUNNING, TIState.DEFERRED, Actor.TASK),
    (TIState.UP_FOR_RESCHEDULE, TIState.QUEUED, Actor.SCHEDULER),  # the next poke
    (TIState.DEFERRED, TIState.SCHEDULED, Actor.TRIGGERER),  # the trigger fired
    (TIState.DEFERRED, None, Actor.OPERATOR),
])
def test_allowed_moves(current: str | None, target: str | None, actor: Actor) -> None:
    assert state.ti_move_allowed(current, target, actor)


@pytest.mark.parametrize(("current", "target", "actor"), [
    (TIState.SUCCESS, TIState.QUEUED, Actor.SCHEDULER),  # only a clear reopens a finished task
    (TIState.RUNNING, TIState.SUCCESS, Actor.SCHEDULER),  # only the task process reports success
    (None, TIState.RUNNING, Actor.TASK),  # a try is claimed from queued only
    (TIState.SUCCESS, TIState.FAILED, Actor.TASK),
    (TIState.RUNNING, TIState.RUNNING, Actor.OPERATOR),  # mark: success, failed or skipped only
    (TIState.FAILED, TIState.QUEUED, Actor.OPERATOR),
    (TIState.DEFERRED, TIState.QUEUED, Actor.SCHEDULER),  # only its trigger (or timeout) ends a wait
    (TIState.DEFERRED, TIState.SCHEDULED, Actor.TASK),
    (TIState.RUNNING, TIState.SCHEDULED, Actor.TRIGGERER),
    (TIState.QUEUED, TIState.DEFERRED, Actor.TASK),  # only a running try defers
])
def test_refused_moves(current: str | None, target: str | None, actor: Actor) -> None:
    assert not state.ti_move_allowed(current, target, actor)


def test_run_moves_and_stored_values() -> None:
    assert state.run_move_allowed(RunState.QUEUED, RunState.RUNNING)
    assert state.run_move_allowed(RunState.SUCCESS, RunState.QUEUED)  # cleared
    assert not state.run_move_allowed(RunState.QUEUED, RunState.SUCCESS)
    assert not state.run_move_allowed(RunState.SUCCESS, RunState.FAILED)
    # the stored strings are Airflow's: the API and UI are unchanged
    assert [s.value for s in TIState] == ["scheduled", "queued", "running", "success", "failed", "skipped",
                                          "upstream_failed", "up_for_retry", "up_for_reschedule", "deferred", "removed"]
    assert [s.value for s in RunState] == ["queued", "running", "success", "failed"]


def test_a_refused_move_is_an_error_not_a_write(store: SqlPipelineStore) -> None:
    run = new_run(store)
    with pytest.raises(InvalidInput, match="scheduler cannot move task instance a"):
        state.transition(store, run.dag_id, run.run_id, [Transition(("a", -1), None, TIState.RUNNING)], NOW)
    assert store.get_task_instance(run.dag_id, run.run_id, "a").state is None
    with pytest.raises(InvalidInput, match="cannot mark"):
        state.mark(store, run.dag_id, run.run_id, ["a"], "running", NOW)


def test_lost_compare_and_set_is_reported(store: SqlPipelineStore) -> None:
    run = new_run(store)
    key = ("a", -1)
    first = state.transition(store, run.dag_id, run.run_id, [Transition(key, None, TIState.SCHEDULED)], NOW)
    lost = state.transition(store, run.dag_id, run.run_id, [Transition(key, None, TIState.SKIPPED)], NOW)
    assert first == [key] and lost == []  # the second caller read None too, and lost
    assert store.get_task_instance(run.dag_id, run.run_id, "a").state == "scheduled"
    # DAG runs: the state read is checked too
    started = state.transition_run(store, run, RunState.RUNNING, NOW)
    assert started is not None and started.state == "running"
    assert state.transition_run(store, run, RunState.RUNNING, NOW) is None  # ``run`` was read as queued


def test_a_cleared_try_is_fenced(store: SqlPipelineStore) -> None:
    run = new_run(store)
    key = ("a", -1)
    token = running_try(store, run)
    assert state.put_output(store, output(run, b"1"), token, NOW)
    assert state.heartbeat(store, run.dag_id, run.run_id, key, token, NOW)
    running = state.transition_run(store, run, RunState.RUNNING, NOW)
    assert running is not None

    before = state.clear(store, run.dag_id, run.run_id, ["a"], {"a": 1}, NOW)
    assert [(t.task_id, t.state, t.token) for t in before] == [("a", "running", token)]
    # every later write of the stale try is refused by its token
    assert not state.heartbeat(store, run.dag_id, run.run_id, key, token, NOW)
    assert not state.put_output(store, output(run, b"2"), token, NOW)
    assert not state.finish_try(store, run.dag_id, run.run_id, key, token, TIState.SUCCESS, NOW)
    assert not state.transition(store, run.dag_id, run.run_id, [
        Transition(key, TIState.RUNNING, TIState.FAILED, token=token)], NOW)
    ti = store.get_task_instance(run.dag_id, run.run_id, "a")
    assert ti.state is None and ti.token is None and ti.start_date is None
    assert store.get_outputs(run.dag_id, run.run_id, "a") == []
    assert [t.state for t in store.list_tries(run.dag_id, run.run_id, "a")] == ["failed"]
    # the run went back to the queue: finishing it from the state read before the clear loses
    assert state.transition_run(store, running, RunState.SUCCESS, NOW) is None
    assert store.get_dag_run(run.dag_id, run.run_id).state == "queued"

    # the next try owns the row; its writes land
    new = running_try(store, run)
    assert new != token
    assert state.put_output(store, output(run, b"3"), new, NOW)
    assert state.finish_try(store, run.dag_id, run.run_id, key, new, TIState.SUCCESS, NOW)
    assert [o.data for o in store.get_outputs(run.dag_id, run.run_id, "a")] == [b"3"]


def test_a_marked_try_is_fenced(store: SqlPipelineStore) -> None:
    run = new_run(store)
    key = ("a", -1)
    token = running_try(store, run)
    assert [t.state for t in state.mark(store, run.dag_id, run.run_id, ["a"], "failed", NOW)] == ["running"]
    assert not state.finish_try(store, run.dag_id, run.run_id, key, token, TIState.SUCCESS, NOW)
    assert store.get_task_instance(run.dag_id, run.run_id, "a").state == "failed"
    assert [t.state for t in store.list_tries(run.dag_id, run.run_id, "a")] == ["failed"]


def test_fenced_executor_processes() -> None:
    k1, k2, k3 = ("d", "r", "a", -1), ("d", "r", "b", -1), ("d", "r", "c", 0)
    assert state.fenced({k1: "t1", k2: "t2", k3: "t3"}, {k1: "t1", k2: None}) == [k2, k3]


def test_only_state_py_calls_the_store_transitions() -> None:
    """Every transition goes through pipelines/state.py: no other module calls the store's
    state-changing methods."""
    owned = {"apply_transitions", "queue_task_instances", "start_try", "heartbeat", "finish_try",
             "clear_task_instances", "mark_task_instances", "expand_task", "cas_dag_run", "update_dag_run",
             "put_output"}
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.name == "state.py" or "store" in path.relative_to(SRC).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in owned
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "store"):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {node.func.attr}")
    assert offenders == []


def test_the_states_live_in_entities() -> None:
    """The store may import entities, never pipelines: the enums are defined there, and
    pipelines.state re-exports the very same classes."""
    assert state.TIState is entities.TIState and state.RunState is entities.RunState
    assert state.FINISHED_TI is entities.FINISHED_TI and state.MARKABLE is entities.MARKABLE


def test_states_are_stored_as_their_plain_strings(store: SqlPipelineStore) -> None:
    """Enum members are bound as the plain strings (sqlite3 and psycopg adapt str subclasses
    as str): what the database holds is what it held before the enums, so no migration."""
    run = new_run(store)
    token = running_try(store, run)
    state.finish_try(store, run.dag_id, run.run_id, ("a", -1), token, TIState.UP_FOR_RETRY, NOW)
    state.transition(store, run.dag_id, run.run_id, [Transition(("b", -1), None, TIState.UPSTREAM_FAILED)], NOW)
    state.transition_run(store, run, RunState.RUNNING, NOW)
    with store.db.read() as conn:
        tis = conn.execute(select(task_instances.c.task_id, task_instances.c.state)
                           .where(task_instances.c.dag_id == run.dag_id).order_by(task_instances.c.task_id)).all()
        tries = conn.execute(select(task_tries.c.state).where(task_tries.c.dag_id == run.dag_id)).scalars().all()
        runs = conn.execute(select(dag_runs.c.state).where(dag_runs.c.dag_id == run.dag_id)).scalars().all()
    assert [tuple(r) for r in tis] == [("a", "up_for_retry"), ("b", "upstream_failed")]
    assert tries == ["up_for_retry"] and runs == ["running"]
    assert all(type(v) is str for v in [*(r.state for r in tis), *tries, *runs])


STATE_VALUES = {s.value for s in TIState} | {s.value for s in RunState}
_LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical", "log", "print", "warn"}


def _state_literals(path: Path, root: Path = SRC) -> list[str]:
    """``file:line 'value'`` of each string constant equal to a task-instance or DAG-run state
    in code, i.e. not: a docstring; an enum member's definition (``UPSTREAM_FAILED =
    "upstream_failed"`` of a Verdict is not a state); a dict key or subscript (a JSON field,
    e.g. /health's ``"running": bool``); an argument of a log or print call; part of an
    f-string; a run type (``"scheduled"`` is one too: the nearest comparison, call, keyword
    argument or assignment around it names ``run_type``)."""
    source = path.read_text()
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    enum_classes = {node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                    and any(ast.unparse(b).endswith("Enum") for b in node.bases)}
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in STATE_VALUES):
            continue
        parent = parents[node]
        if isinstance(parent, (ast.Expr, ast.JoinedStr)):
            continue
        if isinstance(parent, ast.Assign) and parents.get(parent) in enum_classes:
            continue
        if (isinstance(parent, ast.Dict) and any(k is node for k in parent.keys)) or (
                isinstance(parent, ast.Subscript) and parent.slice is node):
            continue
        if isinstance(parent, ast.Call) and node in parent.args and (
                (isinstance(parent.func, ast.Attribute) and parent.func.attr in _LOG_CALLS)
                or (isinstance(parent.func, ast.Name) and parent.func.id in _LOG_CALLS)):
            continue
        around: ast.AST = parent
        while not isinstance(around, (ast.Compare, ast.Call, ast.keyword, ast.Assign, ast.stmt)):
            around = parents[around]
        if "run_type" in (ast.get_source_segment(source, around) or "").lower():
            continue
        found.append((node.lineno, node.col_offset, f"{path.relative_to(root)}:{node.lineno} {node.value!r}"))
    return [hit for *_, hit in sorted(found)]


def test_states_are_the_enum_not_string_literals() -> None:
    """Who reads or writes a task-instance or DAG-run state names a TIState/RunState member,
    never its string: a typo or a state that does not exist cannot hide in a comparison."""
    paths = [p for part in ("store", "pipelines", "server", "cli") for p in sorted((SRC / part).rglob("*.py"))]
    offenders = [hit for path in paths for hit in _state_literals(path)]
    assert offenders == []


def test_the_state_literal_check_finds_literals(tmp_path: Path) -> None:
    """The check above is not vacuous: it flags what it should and lets the rest be."""
    module = tmp_path / "probe.py"
    code = (
        '"""Docstring: running, failed."""\n'
        "import enum\n"
        "class Verdict(enum.Enum):\n"
        '    UPSTREAM_FAILED = "upstream_failed"\n'
        'def f(ti, run, log, store):\n'
        '    """queued"""\n'
        '    if ti.state == "running":\n'  # flagged
        '        store.mark(state="failed")\n'  # flagged
        '    states = ("queued", "up_for_retry")\n'  # flagged twice
        '    if run.run_type in ("scheduled", "backfill"):\n'
        '        store.create(run_type="scheduled", state="queued")\n'  # the state is flagged
        '    log.info("success")\n'
        '    return {"running": True}["running"], f"{ti}skipped"\n'
    )
    module.write_text(code)
    hits = _state_literals(module, tmp_path)
    assert [h.split(" ", 1)[1] for h in hits] == ["'running'", "'failed'", "'queued'", "'up_for_retry'", "'queued'"]
