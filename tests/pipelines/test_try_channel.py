"""The try channel's contract (runtime/channel.py), run on both implementations: straight on
the store (SQLite, PostgreSQL) and over the server's task API (a real uvicorn server, the
try token as the only credential). Then what the task API refuses: no token, another try's
token, a fenced try, bad input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from servers import ThreadServer
from trackflow.config import Settings, load_settings
from trackflow.entities.connection import Connection
from trackflow.entities.pipelines import DagRun, LineageEdge, TaskOutput
from trackflow.pipelines import state
from trackflow.pipelines.runtime.channel import StoreChannel, TryChannel
from trackflow.pipelines.runtime.task_api_client import TaskApiChannel
from trackflow.pipelines.variables import fernet_for
from trackflow.server.app import create_app
from trackflow.store.pipeline_base import NewTaskInstance, Transition
from trackflow.store.sql.connection_store import SqlConnectionStore
from trackflow.store.sql.database import Database
from trackflow.store.sql.pipeline_store import SqlPipelineStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


class Setup:
    def __init__(self, store: SqlPipelineStore, api_url: str | None, settings: Settings | None = None) -> None:
        self.store = store
        self.api_url = api_url
        self.settings = settings or load_settings()  # whose Fernet key encrypts what the channel reads

    def channel(self, run: DagRun, task_id: str, token: str, map_index: int = -1) -> TryChannel:
        if self.api_url is None:
            return StoreChannel(self.store, run.dag_id, run.run_id, (task_id, map_index), token)
        return TaskApiChannel(self.api_url, run.dag_id, run.run_id, (task_id, map_index), token)


@pytest.fixture(params=["store-sqlite", "store-postgresql", "task-api"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    if request.param == "task-api":
        settings = Settings(home=str(tmp_path / "home"))
        app = create_app(settings)
        with ThreadServer(app) as server:
            yield Setup(SqlPipelineStore(app.state.services.db), f"{server.url}/task-api/v1", settings)
        return
    sqlite = request.param == "store-sqlite"
    uri = f"sqlite:///{tmp_path / 'p.db'}" if sqlite else request.getfixturevalue("postgres_uri")
    db = Database(uri)
    db.upgrade()
    yield Setup(SqlPipelineStore(db), None)
    db.dispose()


def new_run(store: SqlPipelineStore) -> DagRun:
    run = DagRun(f"d_{uuid.uuid4().hex[:8]}", "r1", "queued", "manual", NOW, NOW, NOW, NOW, queued_at=NOW,
                 conf={"k": [1, 2]})
    return store.create_dag_run(run, [NewTaskInstance("a", max_tries=1), NewTaskInstance("b")])


def queued_token(store: SqlPipelineStore, run: DagRun, task_id: str) -> str:
    token = state.queue(store, run.dag_id, run.run_id, [(task_id, -1)], NOW)[0].token
    assert token
    return token


def value(run: DagRun, task_id: str, data: bytes) -> TaskOutput:
    return TaskOutput(run.dag_id, run.run_id, task_id, -1, "return_value", "json", data, None, len(data), None)


def test_a_try_claims_beats_stores_reads_and_finishes(setup: Setup) -> None:
    run = new_run(setup.store)
    token = queued_token(setup.store, run, "a")
    ch = setup.channel(run, "a", token)
    read = ch.get_dag_run()
    assert (read.dag_id, read.run_id, read.conf, read.logical_date) == (run.dag_id, "r1", {"k": [1, 2]}, NOW)
    ti = ch.start(NOW, "host-1", 4242, "/tmp/a.log", None)
    assert ti is not None and (ti.state, ti.try_number, ti.max_tries, ti.hostname) == ("running", 1, 1, "host-1")
    assert ch.start(NOW, "host-2", 1, "", None) is None  # claimed once only
    assert ch.heartbeat(NOW + timedelta(seconds=1)) and ch.holds()
    assert ch.put_output(value(run, "a", b'"hello"'), NOW)
    assert not ch.put_output(value(run, "b", b'"not mine"'), NOW)  # a try stores its own values only
    [stored] = ch.get_outputs("a", "return_value")
    assert (stored.data, stored.serializer, stored.size_bytes) == (b'"hello"', "json", 7)
    assert ch.get_outputs("b", "return_value") == []
    ch.record_lineage([LineageEdge(run.dag_id, run.run_id, "b", -1, "return_value", "a", -1)])
    assert [(e.producer_task_id, e.consumer_task_id) for e in setup.store.get_lineage(run.dag_id, run.run_id)] == [
        ("b", "a")]
    assert ch.finish("success", NOW, None, ["b"], None)
    assert setup.store.get_task_instance(run.dag_id, run.run_id, "a").state == "success"
    assert setup.store.get_task_instance(run.dag_id, run.run_id, "b").state == "skipped"


def test_a_try_records_its_rendered_map_index_with_its_end(setup: Setup) -> None:
    run = new_run(setup.store)
    ch = setup.channel(run, "a", queued_token(setup.store, run, "a"))
    assert ch.start(NOW, "h", 1, "", None) is not None
    assert ch.finish("up_for_retry", NOW, NOW, [], None, rendered_map_index="eu-west")
    assert setup.store.get_task_instance(run.dag_id, run.run_id, "a").rendered_map_index == "eu-west"
    state.transition(setup.store, run.dag_id, run.run_id,
                     [Transition(("a", -1), "up_for_retry", "scheduled")], NOW)
    ch = setup.channel(run, "a", queued_token(setup.store, run, "a"))
    assert ch.start(NOW, "h", 1, "", None) is not None
    assert ch.finish("success", NOW, None, [], None)  # no label this try (its template failed): kept
    assert setup.store.get_task_instance(run.dag_id, run.run_id, "a").rendered_map_index == "eu-west"


def test_a_try_reads_a_stored_connection_decrypted(setup: Setup) -> None:
    """Over the task API too: a Celery worker holds no Fernet key."""
    stored = Connection(conn_id=f"wh_{uuid.uuid4().hex[:6]}", conn_type="postgres", host="db.internal", login="etl",
                        password="pw-12345", port=5432, schema="dw", extra='{"sslmode": "require"}')
    SqlConnectionStore(setup.store.db, fernet_for(setup.settings)).set(stored, NOW)
    run = new_run(setup.store)
    ch = setup.channel(run, "a", queued_token(setup.store, run, "a"))
    assert ch.start(NOW, "h", 1, "", None) is not None
    assert ch.get_connection(str(stored.conn_id)) == stored
    assert ch.get_connection("not_defined") is None


def test_a_fenced_try_writes_nothing(setup: Setup) -> None:
    run = new_run(setup.store)
    token = queued_token(setup.store, run, "a")
    ch = setup.channel(run, "a", token)
    assert ch.start(NOW, "h", 1, "", None) is not None
    state.clear(setup.store, run.dag_id, run.run_id, ["a"], {}, NOW)
    assert not ch.heartbeat(NOW) and not ch.holds()
    assert not ch.put_output(value(run, "a", b"1"), NOW)
    assert not ch.finish("success", NOW, None, [], None)
    assert setup.store.get_outputs(run.dag_id, run.run_id, "a") == []
    assert setup.store.get_task_instance(run.dag_id, run.run_id, "a").state is None


def test_the_task_api_grants_a_try_token_its_own_try_only(tmp_path: Path) -> None:
    settings = Settings(home=str(tmp_path / "home"))
    app = create_app(settings)
    store = SqlPipelineStore(app.state.services.db)
    run = new_run(store)
    token_a = queued_token(store, run, "a")
    token_b = queued_token(store, run, "b")
    with ThreadServer(app) as server:
        base = f"{server.url}/task-api/v1/dags/{run.dag_id}/runs/{run.run_id}/tasks"
        start = {"now": NOW.isoformat(), "hostname": "h", "pid": 1, "log_path": ""}
        assert requests.post(f"{base}/a/-1/start", json=start, timeout=10).status_code == 401
        wrong = requests.post(f"{base}/a/-1/start", json=start, headers={"Authorization": f"Bearer {token_b}"},
                              timeout=10)
        assert wrong.status_code == 409 and "holds it no more" in wrong.json()["message"]
        assert store.get_task_instance(run.dag_id, run.run_id, "a").state == "queued"  # nothing moved
        auth = {"Authorization": f"Bearer {token_a}"}
        assert requests.get(f"{base}/zz/-1/run", headers=auth, timeout=10).status_code == 404
        for bad in ({**start, "pid": -1}, {**start, "pid": 2**70}, {**start, "extra": 1}, {"now": "yesterday"}):
            answer = requests.post(f"{base}/a/-1/start", json=bad, headers=auth, timeout=10)
            assert answer.status_code == 400, (bad, answer.text)
        assert requests.get(f"{base}/a/99999999999/run", headers=auth, timeout=10).status_code == 400
        odd = requests.post(f"{base}/a/-1/outputs", json={"output": {"dag_id": 1}, "now": NOW.isoformat()},
                            headers=auth, timeout=10)
        assert odd.status_code == 400
        assert requests.post(f"{base}/a/-1/start", json=start, headers=auth, timeout=10).status_code == 200
    app.state.services.db.dispose()
