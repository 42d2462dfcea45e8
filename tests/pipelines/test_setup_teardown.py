"""Setup and teardown tasks, as in Airflow 3: ``as_setup()``, ``as_teardown(setups=...)``,
``@setup``/``@teardown`` and ``with setup >> teardown:``; a teardown runs once the work between
it and its setups is done, if one of its setups succeeded (``all_done_setup_success``); work
waits for its setups also when they are not its direct upstream; a teardown's failure fails the
run only with ``on_failure_fail_dagrun``; clearing work clears its setups and teardowns —
authoring, the pure decisions, ``dags test`` and the scheduler service. (The real Airflow's
outcomes of the same cases: tests/airflow_oracle/dags/tf_setup_teardown.py.)"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import CLI, DAGS

from trackflow import DAG, TaskGroup, setup, task, teardown
from trackflow.config import Settings
from trackflow.errors import InvalidInput
from trackflow.operators import EmptyOperator
from trackflow.pipelines.authoring.serialize import serialize_dag
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.scheduler.setup_teardown import to_clear_with
from trackflow.pipelines.spec import DagSpec
from trackflow.pipelines.state import RunState, TIState
from trackflow.server.api_v1.pipelines import dag_detail_json
from trackflow.store.sql.pipeline_store import SqlPipelineStore

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_marking_setups_and_teardowns_links_them_and_sets_the_teardown_rule() -> None:
    with DAG("marks", schedule=None, start_date=NOW) as dag:
        create = EmptyOperator(task_id="create")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create, on_failure_fail_dagrun=True)
    assert create.is_setup and delete.is_teardown and delete.on_failure_fail_dagrun
    assert delete.trigger_rule == "all_done_setup_success" and delete.upstream_task_ids == {"create"}
    spec = serialize_dag(dag).task_map
    assert spec["create"].is_setup and spec["delete"].is_teardown and spec["delete"].on_failure_fail_dagrun


def test_work_in_a_with_block_runs_between_the_setup_and_the_teardown() -> None:
    with DAG("scoped", schedule=None, start_date=NOW) as dag:
        @setup
        def create() -> str:
            return "c"

        @teardown
        def delete(cluster: str) -> None:
            pass

        @task
        def work() -> None:
            pass

        outside = EmptyOperator(task_id="outside")
        with delete(create()):
            first = work()
            first >> work()
    tasks = dag.task_dict
    assert tasks["create"].downstream_task_ids == {"delete", "work"}  # the roots of the block
    assert tasks["work__1"].downstream_task_ids == {"delete"}  # its leaves
    assert not outside.upstream_task_ids and not outside.downstream_task_ids
    assert tasks["create"].is_setup and tasks["delete"].is_teardown and first.operator.upstream_task_ids == {"create"}


def test_nested_with_blocks_put_the_outer_setup_first_and_the_outer_teardown_last() -> None:
    with DAG("nested", schedule=None, start_date=NOW) as dag:
        s1, t1 = EmptyOperator(task_id="s1").as_setup(), EmptyOperator(task_id="t1")
        with s1 >> t1.as_teardown(setups=s1):
            s2, t2 = EmptyOperator(task_id="s2").as_setup(), EmptyOperator(task_id="t2")
            with s2 >> t2.as_teardown(setups=s2):
                EmptyOperator(task_id="work")
    tasks = dag.task_dict
    assert tasks["s1"].downstream_task_ids == {"t1", "s2"} and tasks["t2"].downstream_task_ids == {"t1"}
    assert tasks["work"].upstream_task_ids == {"s2"} and tasks["work"].downstream_task_ids == {"t2"}


def test_a_task_made_outside_the_with_block_can_be_added_to_it() -> None:
    with DAG("added", schedule=None, start_date=NOW):
        create = EmptyOperator(task_id="create").as_setup()
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        made_before = EmptyOperator(task_id="made_before")
        with create >> delete as scope:
            scope.add_task(made_before)
    assert made_before.upstream_task_ids == {"create"} and made_before.downstream_task_ids == {"delete"}


def test_a_task_after_a_group_waits_for_its_work_not_its_teardown() -> None:
    with DAG("group_leaves", schedule=None, start_date=NOW):
        with TaskGroup("cluster") as cluster:
            create = EmptyOperator(task_id="create").as_setup()
            work = EmptyOperator(task_id="work")
            delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
            create >> work >> delete
        after = EmptyOperator(task_id="after")
        cluster >> after
    assert [t.task_id for t in cluster.leaves] == ["cluster.work"]
    assert after.upstream_task_ids == {"cluster.work"}


def test_with_needs_a_setup_or_teardown_and_setups_are_followed_by_all_success() -> None:
    with DAG("plain", schedule=None, start_date=NOW):
        plain = EmptyOperator(task_id="plain")
        with pytest.raises(InvalidInput, match="only setup or teardown tasks"):
            with plain:
                pass
    with DAG("lenient", schedule=None, start_date=NOW) as dag:
        EmptyOperator(task_id="create").as_setup() >> EmptyOperator(task_id="work", trigger_rule="all_done")
    with pytest.raises(InvalidInput, match="tasks right after a setup must use all_success"):
        serialize_dag(dag)


def _chain() -> DagSpec:
    """create (setup) >> work >> finish (all_done) >> delete (teardown of create)."""
    with DAG("chain", schedule=None, start_date=NOW) as dag:
        create = EmptyOperator(task_id="create").as_setup()
        work = EmptyOperator(task_id="work")
        finish = EmptyOperator(task_id="finish", trigger_rule="all_done")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        create >> work >> finish >> delete
    return serialize_dag(dag)


def _views(states: dict[str, str | None]) -> dict[tuple[str, int], decisions.TIView]:
    return {(t, -1): decisions.TIView(t, state=s) for t, s in states.items()}


@pytest.mark.parametrize(("setup_state", "expected"), [
    (TIState.FAILED, {"work": TIState.UPSTREAM_FAILED, "finish": TIState.UPSTREAM_FAILED,
                      "delete": TIState.UPSTREAM_FAILED}),
    (TIState.SKIPPED, {"work": TIState.SKIPPED, "finish": TIState.SKIPPED, "delete": TIState.SKIPPED}),
])
def test_work_and_teardown_follow_their_setup_even_two_tasks_down(setup_state: TIState,
                                                                  expected: dict[str, TIState]) -> None:
    spec = _chain()
    decision = decisions.decide_run(spec, _views({"create": setup_state, "work": None, "finish": None,
                                                  "delete": None}), NOW)
    # finish is all_done: without the setup constraint it would run after work's upstream_failed
    assert {k[0]: v for k, v in decision.changes.items()} == expected


def test_a_teardown_waits_for_the_work_between_and_runs_after_failed_work() -> None:
    spec = _chain()
    waiting = decisions.decide_run(spec, _views({"create": TIState.SUCCESS, "work": TIState.RUNNING,
                                                 "finish": None, "delete": None}), NOW)
    assert waiting.to_schedule == [] and waiting.changes == {}
    after = decisions.decide_run(spec, _views({"create": TIState.SUCCESS, "work": TIState.FAILED,
                                               "finish": TIState.SUCCESS, "delete": None}), NOW)
    assert after.changes == {("delete", -1): TIState.SUCCESS}  # an empty teardown: done without running
    # the run's state comes from finish, not from the teardown
    states = {("create", -1): TIState.SUCCESS, ("work", -1): TIState.FAILED, ("finish", -1): TIState.SUCCESS,
              ("delete", -1): TIState.FAILED}
    assert decisions.run_outcome(spec, states) == RunState.SUCCESS


def test_a_teardown_waits_for_work_that_is_not_its_direct_upstream() -> None:
    with DAG("scope", schedule=None, start_date=NOW) as dag:
        create = EmptyOperator(task_id="create").as_setup()
        slow, quick = EmptyOperator(task_id="slow"), EmptyOperator(task_id="quick")
        join = EmptyOperator(task_id="join", trigger_rule="one_success")
        delete = EmptyOperator(task_id="delete").as_teardown(setups=create)
        create >> [slow, quick] >> join >> delete
    spec = serialize_dag(dag)
    states = {"create": TIState.SUCCESS, "slow": TIState.RUNNING, "quick": TIState.SUCCESS,
              "join": TIState.SUCCESS, "delete": None}
    assert decisions.decide_run(spec, _views(states), NOW).changes == {}  # slow is still in the teardown's scope
    states["slow"] = TIState.FAILED
    assert decisions.decide_run(spec, _views(states), NOW).changes == {("delete", -1): TIState.SUCCESS}


def test_clearing_work_clears_its_setups_and_teardowns() -> None:
    spec = _chain()
    assert to_clear_with(spec, ["finish"], include_downstream=False) == ["finish", "create", "delete"]
    assert to_clear_with(spec, ["create"], include_downstream=False) == ["create", "delete"]


def _records(out: Path) -> list[tuple[str, object]]:
    return [(r["name"], r["value"]) for r in map(json.loads, (out / "setup_teardown.jsonl").read_text().splitlines())]


def _states(store: SqlPipelineStore, dag_id: str) -> tuple[str, dict[str, str | None]]:
    run = store.list_dag_runs(dag_id)[0]
    return run.state, {t.task_id: t.state for t in store.list_task_instances(dag_id, run.run_id)}


def test_dags_test_runs_the_teardown_after_failed_work_and_ignores_a_failed_teardown(
        cli: CLI, store: SqlPipelineStore, home: Path) -> None:
    out = home.parent / "out"
    (out / "fail_work").touch()
    folder = str(DAGS / "setup_teardown.py")
    proc = cli("dags", "test", "cluster_work", "--dags-folder", folder)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _states(store, "cluster_work") == ("failed", {
        "create_cluster": "success", "work": "failed", "report": "upstream_failed", "delete_cluster": "success"})
    assert _records(out) == [("create", "cluster-1"), ("work", "cluster-1"), ("delete", "cluster-1")]
    assert cli("dags", "test", "failing_teardowns", "--dags-folder", folder).returncode == 0
    assert _states(store, "failing_teardowns") == ("success", {
        "create": "success", "work": "success", "ignored": "failed"})
    assert cli("dags", "test", "teardown_fails_the_run", "--dags-folder", folder).returncode == 1
    assert _states(store, "teardown_fails_the_run") == ("failed", {
        "create": "success", "work": "success", "strict": "failed"})


def test_the_scheduler_runs_setups_again_when_their_work_is_cleared(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "setup_teardown.py", folder)
    out = tmp_path / "out"
    out.mkdir()
    (out / "fail_work").touch()
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    with deployment(settings, "local", FAST, dag_ids=("cluster_work",)) as d:
        p = d.pipelines
        p.trigger("cluster_work", run_id="r1")
        assert d.run_to_end("cluster_work", "r1") == "failed"
        detail = {t["task_id"]: t for t in dag_detail_json(p.store.get_dag("cluster_work"))["tasks"]}
        assert (detail["create_cluster"]["is_setup"], detail["delete_cluster"]["is_teardown"]) == (True, True)
        assert detail["delete_cluster"]["trigger_rule"] == "all_done_setup_success"
        (out / "fail_work").unlink()
        assert sorted(p.clear("cluster_work", "r1", ["work"], include_downstream=True)) == [
            "create_cluster", "delete_cluster", "report", "work"]
        assert d.run_to_end("cluster_work", "r1") == "success"
        tis = {t.task_id: (t.state, t.try_number) for t in p.run_detail("cluster_work", "r1").task_instances}
        assert tis == {"create_cluster": ("success", 2), "work": ("success", 2), "report": ("success", 1),
                       "delete_cluster": ("success", 2)}
    assert [name for name, _ in _records(out)] == ["create", "work", "delete", "create", "work", "report", "delete"]
