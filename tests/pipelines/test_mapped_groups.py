"""Mapped task groups (``@task_group`` with ``.partial().expand()`` / ``.expand_kwargs()``), as in
Airflow 3: every task of the group has the group's map indexes and takes that index's arguments,
a task reads another task of its group at the same map index, a task after the group gets the
collected list, and trigger rules are evaluated per map index — authoring, the pure decisions,
``dags test`` and the scheduler service. (tests/pipelines/test_airflow_examples.py compares the
same DAGs' outcomes with the real Airflow.)"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from executor_harness import FAST, deployment
from pipeline_helpers import CLI, DAGS

from trackflow import DAG, task, task_group
from trackflow.config import Settings
from trackflow.errors import InvalidInput
from trackflow.pipelines.authoring.serialize import serialize_dag
from trackflow.pipelines.scheduler import decisions
from trackflow.pipelines.spec import DagSpec, MapInput
from trackflow.pipelines.state import TIState
from trackflow.server.api_v1.pipelines import dag_detail_json
from trackflow.store.sql.pipeline_store import SqlPipelineStore
from trackflow.tracking.client import Client

NOW = datetime(2025, 1, 1, tzinfo=UTC)

# What tests/dags/mapped_groups.py ends with: map index 1 fails in check and stops its label only.
EXPECTED = {
    "numbers": "success", "collect": "success", "total": "success",
    "per_number.check[0]": "success", "per_number.check[1]": "failed", "per_number.check[2]": "success",
    "per_number.label[0]": "success", "per_number.label[1]": "upstream_failed", "per_number.label[2]": "success",
    "per_number.cleanup[0]": "success", "per_number.cleanup[1]": "success", "per_number.cleanup[2]": "success",
    "pair.add[0]": "success", "pair.add[1]": "success",
    "pair__1.add[0]": "success", "pair__1.add[1]": "success", "pair__1.add[2]": "success",
    "pair__1.add[3]": "success",
}


@task
def produce() -> list[int]:
    return [1, 2]


@task
def consume(value: int) -> int:
    return value


def test_each_task_of_a_mapped_group_is_mapped_by_the_group_and_takes_its_arguments() -> None:
    with DAG("authoring", schedule=None, start_date=NOW) as dag:
        @task_group
        def group(x, fixed):
            return consume.override(task_id="second")(consume.override(task_id="first")(x))

        numbers = produce()
        group.partial(fixed=1).expand(x=numbers)
        group.expand_kwargs([{"x": 1, "fixed": 2}])
        group(5, 0)  # a plain call: the third group id
    assert set(dag.task_groups) == {"group", "group__1", "group__2"}
    spec = serialize_dag(dag).task_map
    first, second = spec["group.first"], spec["group.second"]
    assert (first.is_mapped, first.mapped_group, second.mapped_group) == (True, "group", "group")
    # the output the group maps over runs before the group's first task (and any task taking the argument)
    assert first.upstream == ("produce",) and second.upstream == ("group.first",)
    assert first.map_inputs == second.map_inputs == (MapInput("x", "output", task_id="produce"),)
    assert spec["group__1.first"].map_inputs == (MapInput("**kwargs", "literal", length=1),)
    assert not spec["group__2.first"].is_mapped and spec["group__2.first"].mapped_group is None


@pytest.mark.parametrize(("build", "message"), [
    (lambda g: g.expand(x=3), "must be a list, a dict or a task output"),
    (lambda g: g.expand(y=[1]), "unexpected arguments: y"),
    (lambda g: g.partial(x=1).expand(x=[2]), "both partial() and expand(): x"),
    (lambda g: g.expand_kwargs("x=1"), "takes a list of dicts or a task output"),
    (lambda g: g.expand(x=produce.override(multiple_outputs=True)()["a"]), "map over a task's return value"),
])
def test_a_mapped_group_with_bad_arguments_is_refused_with_the_reason(build: object, message: str) -> None:
    with DAG("bad", schedule=None, start_date=NOW):
        @task_group
        def g(x):
            consume(x)

        with pytest.raises(InvalidInput, match=message.replace("(", r"\(").replace(")", r"\)")):
            build(g)  # type: ignore[operator]


def test_mapping_twice_over_is_refused_rather_than_run_wrongly() -> None:
    with DAG("nested", schedule=None, start_date=NOW) as dag:
        @task_group
        def outer(x):
            @task_group
            def inner(y):
                consume(y)

            inner.expand(y=[1, 2])

        with pytest.raises(InvalidInput, match="inside the mapped task group 'outer'"):
            outer.expand(x=[1])
    with DAG("mapped_inside", schedule=None, start_date=NOW) as dag:
        @task_group
        def group(x):
            consume.expand(value=[1, 2])

        group.expand(x=[1])
        with pytest.raises(InvalidInput, match="mapped inside the mapped task group 'group'"):
            serialize_dag(dag)


def test_always_is_refused_in_a_group_mapped_over_a_task_output() -> None:
    for over_output in (True, False):
        with DAG("always", schedule=None, start_date=NOW) as dag:
            @task_group
            def g(x):
                consume.override(trigger_rule="always")(x)

            g.expand(x=produce() if over_output else [1, 2])
        if over_output:
            with pytest.raises(InvalidInput, match="trigger rule 'always' in the mapped task group 'g'"):
                serialize_dag(dag)
        else:
            assert serialize_dag(dag).task_map["g.consume"].is_mapped


def _spec() -> DagSpec:
    with DAG("per_index", schedule=None, start_date=NOW) as dag:
        @task_group
        def g(x):
            @task
            def a(x: int) -> int:
                return x

            @task(trigger_rule="one_failed")
            def b(v: int) -> int:
                return v

            @task
            def c(v: int) -> int:
                return v

            out = a(x)
            b(out)
            return c(out)

        consume(g.expand(x=produce()))
    return serialize_dag(dag)


def test_trigger_rules_are_decided_per_map_index_of_the_group() -> None:
    spec = _spec()
    tis = decisions.initial_task_instances(spec)
    tis[("produce", -1)] = decisions.TIView("produce", state=TIState.SUCCESS)
    assert decisions.decide_run(spec, tis, NOW).to_expand == ["g.a"]
    tis = decisions.expand(tis, "g.a", 2)
    # c (all_success) expands with the group; b (one_failed) waits for a's instances, as Airflow
    assert decisions.decide_run(spec, tis, NOW).to_expand == ["g.c"]
    tis = decisions.expand(tis, "g.c", 2)
    tis[("g.a", 0)] = decisions.TIView("g.a", 0, state=TIState.SUCCESS)
    tis[("g.a", 1)] = decisions.TIView("g.a", 1, state=TIState.FAILED)
    decision = decisions.decide_run(spec, tis, NOW)
    assert decision.to_expand == ["g.b"] and decision.to_schedule == [("g.c", 0)]
    # index 1 of c follows index 1 of a only; the task after the group sees every index of c
    assert decision.changes == {("g.c", 1): TIState.UPSTREAM_FAILED, ("consume", -1): TIState.UPSTREAM_FAILED}
    tis = decisions.expand(tis, "g.b", 2)
    decision = decisions.decide_run(spec, tis, NOW)
    assert decision.changes[("g.b", 0)] == TIState.SKIPPED and ("g.b", 1) in decision.to_schedule


def test_an_empty_map_skips_every_task_of_the_group() -> None:
    spec = _spec()
    tis = decisions.initial_task_instances(spec)
    tis[("produce", -1)] = decisions.TIView("produce", state=TIState.SUCCESS)
    tis = decisions.expand(tis, "g.a", 0)
    decision = decisions.decide_run(spec, tis, NOW)
    assert decision.changes == {("g.b", -1): TIState.SKIPPED, ("g.c", -1): TIState.SKIPPED,
                                ("consume", -1): TIState.SKIPPED}


def _records(out: Path) -> dict[str, list[object]]:
    found: dict[str, list[object]] = {}
    for line in (out / "mapped_groups.jsonl").read_text().splitlines():
        item = json.loads(line)
        found.setdefault(item["name"], []).append(item["value"])
    return found


def _states(store: SqlPipelineStore, dag_id: str, run_id: str) -> dict[str, str | None]:
    return {t.task_id if t.map_index < 0 else f"{t.task_id}[{t.map_index}]": t.state
            for t in store.list_task_instances(dag_id, run_id)}


def _check_values(out: Path) -> None:
    records = _records(out)
    assert sorted(records["label"]) == ["n=10", "n=30"]  # each label read its own index's check
    assert sorted(records["cleanup"]) == [[0, 1], [1, 2], [2, 3]]  # each index got its own argument
    assert records["collect"] == [["n=10", "n=30"]]  # the collected list: the indexes that produced a value
    assert records["total"] == [[[3, 7], [101, 102, 201, 202]]]  # expand_kwargs, and expand's product


def test_dags_test_runs_each_map_index_of_the_group_on_its_own(cli: CLI, store: SqlPipelineStore, home: Path) -> None:
    proc = cli("dags", "test", "mapped_groups", "--dags-folder", str(DAGS / "mapped_groups.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # check[1] failed, but no leaf did
    [run] = store.list_dag_runs("mapped_groups")
    assert run.state == "success"
    assert _states(store, "mapped_groups", run.run_id) == EXPECTED
    _check_values(home.parent / "out")
    # map_index_template, rendered with the context as the task left it, names each try's tracked run
    client = Client(f"sqlite:///{home / 'trackflow.db'}", Settings(home=str(home)))
    labels = {ti.map_index: client.get_run(ti.tracking_run_id or "").data.tags.get("trackflow.map_index_label")
              for ti in store.list_task_instances("mapped_groups", run.run_id) if ti.task_id == "per_number.cleanup"}
    assert labels == {0: "number 1", 1: "number 2", 2: "number 3"}
    assert {ti.map_index: ti.rendered_map_index for ti in store.list_task_instances("mapped_groups", run.run_id)
            if ti.task_id == "per_number.cleanup"} == labels  # and is kept on the task instance (the API shows it)


@pytest.mark.parametrize("executor", ["local", "celery-redis"])
def test_the_scheduler_runs_a_mapped_group_per_map_index(executor: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "mapped_groups.py", folder)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setenv("TF_TEST_OUT", str(out))
    settings = Settings(home=str(tmp_path / "home"), dags_folder=str(folder))
    with deployment(settings, executor, FAST, dag_ids=("mapped_groups",)) as d:
        d.pipelines.trigger("mapped_groups", run_id="r1")
        assert d.run_to_end("mapped_groups", "r1") == "success"
        assert _states(d.pipelines.store, "mapped_groups", "r1") == EXPECTED
        _check_values(out)
        detail = {t["task_id"]: t for t in dag_detail_json(d.pipelines.store.get_dag("mapped_groups"))["tasks"]}
        assert (detail["per_number.label"]["is_mapped"], detail["per_number.label"]["mapped_group"]) == (
            True, "per_number")


def test_a_branch_in_a_mapped_group_skips_at_its_own_map_index(cli: CLI, store: SqlPipelineStore) -> None:
    oracle = Path(__file__).resolve().parents[1] / "airflow_oracle" / "dags" / "tf_mapped_task_groups.py"
    proc = cli("dags", "test", "tf_mapped_group_branch", "--airflow-imports", "--dags-folder", str(oracle))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [run] = store.list_dag_runs("tf_mapped_group_branch")
    states = _states(store, "tf_mapped_group_branch", run.run_id)
    # n = 1, 2, 3: odd, even, odd; the short circuit stops n = 2 only
    assert {k: v for k, v in states.items() if k.startswith(("route.even", "route.odd", "gate.use"))} == {
        "route.even[0]": "skipped", "route.odd[0]": "success", "route.even[1]": "success",
        "route.odd[1]": "skipped", "route.even[2]": "skipped", "route.odd[2]": "success",
        "gate.use[0]": "success", "gate.use[1]": "skipped", "gate.use[2]": "success"}


def test_expand_kwargs_maps_a_task_and_an_operator_one_instance_per_dict(cli: CLI, store: SqlPipelineStore,
                                                                        home: Path) -> None:
    proc = cli("dags", "test", "mapped_kwargs", "--dags-folder", str(DAGS / "mapped_groups.py"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [run] = store.list_dag_runs("mapped_kwargs")
    assert _states(store, "mapped_kwargs", run.run_id) == {
        "pairs": "success", "add[0]": "success", "add[1]": "success", "keep": "success",
        "shell[0]": "success", "shell[1]": "skipped"}  # exit code 99 skips
    assert _records(home.parent / "out")["sums"] == [[30, 100]]
