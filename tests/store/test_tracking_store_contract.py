"""The TrackingStore contract, through ``trackflow.Client``, on every backend.

``tracking_backend`` (tests/conftest.py) runs each test on embedded SQLite, embedded
PostgreSQL and the REST store against a real ``trackflow server`` subprocess; adding a
backend is one entry in ``BACKENDS``. Backends are shared by the session, so every test
works in experiments of its own.
"""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import pytest

from trackflow.entities import DatasetInput, LifecycleStage, Metric, Param, RunStatus, RunTag, ViewType
from trackflow.errors import AlreadyExists, InvalidInput, NotFound


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def now_ms() -> int:
    return int(time.time() * 1000)


# Experiments -----------------------------------------------------------------------------
def test_create_and_get_experiment(client: Any) -> None:
    name = unique()
    experiment_id = client.create_experiment(name, tags={"team": "ml", "stage": "dev"})
    experiment = client.get_experiment(experiment_id)
    assert experiment.experiment_id == experiment_id
    assert experiment.name == name
    assert experiment.lifecycle_stage == LifecycleStage.ACTIVE
    assert experiment.tags == {"team": "ml", "stage": "dev"}
    assert experiment.artifact_location
    assert experiment.creation_time and experiment.last_update_time
    assert client.get_experiment_by_name(name).experiment_id == experiment_id
    assert client.get_experiment_by_name(unique("missing")) is None


def test_duplicate_experiment_name_is_rejected(client: Any) -> None:
    name = unique()
    client.create_experiment(name)
    with pytest.raises(AlreadyExists, match=name):
        client.create_experiment(name)


def test_experiment_tags_set_overwrite_delete(client: Any, experiment_id: str) -> None:
    client.set_experiment_tag(experiment_id, "owner", "ann")
    client.set_experiment_tag(experiment_id, "owner", "bob")
    client.set_experiment_tag(experiment_id, "note", 42)
    assert client.get_experiment(experiment_id).tags == {"owner": "bob", "note": "42"}
    client.delete_experiment_tag(experiment_id, "owner")
    assert client.get_experiment(experiment_id).tags == {"note": "42"}
    with pytest.raises(NotFound, match="owner"):
        client.delete_experiment_tag(experiment_id, "owner")


def test_rename_experiment(client: Any, experiment_id: str) -> None:
    new_name, taken = unique("renamed"), unique("taken")
    client.create_experiment(taken)
    client.rename_experiment(experiment_id, new_name)
    assert client.get_experiment(experiment_id).name == new_name
    assert client.get_experiment_by_name(new_name).experiment_id == experiment_id
    with pytest.raises(AlreadyExists, match=taken):
        client.rename_experiment(experiment_id, taken)
    assert client.get_experiment(experiment_id).name == new_name


def test_delete_and_restore_experiment_with_its_runs(client: Any, experiment_id: str) -> None:
    kept = client.create_run(experiment_id).info.run_id
    deleted_before = client.create_run(experiment_id).info.run_id
    client.delete_run(deleted_before)
    client.delete_experiment(experiment_id)

    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.DELETED
    assert client.get_run(kept).info.lifecycle_stage == LifecycleStage.DELETED
    assert client.search_runs([experiment_id]).items == []
    active_ids = {e.experiment_id for e in client.search_experiments(max_results=50_000)}
    deleted_ids = {e.experiment_id for e in client.search_experiments(ViewType.DELETED_ONLY, max_results=50_000)}
    assert experiment_id not in active_ids and experiment_id in deleted_ids
    with pytest.raises(InvalidInput, match="deleted"):
        client.create_run(experiment_id)
    with pytest.raises(AlreadyExists):
        client.create_experiment(client.get_experiment(experiment_id).name)

    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == LifecycleStage.ACTIVE
    assert client.get_run(kept).info.lifecycle_stage == LifecycleStage.ACTIVE
    # A run deleted on its own before the experiment stays deleted.
    assert client.get_run(deleted_before).info.lifecycle_stage == LifecycleStage.DELETED


def test_unknown_and_malformed_experiment_ids(client: Any) -> None:
    with pytest.raises(NotFound, match="987654321"):
        client.get_experiment("987654321")
    with pytest.raises(InvalidInput, match="abc"):
        client.get_experiment("abc")
    with pytest.raises(NotFound):
        client.delete_experiment("987654321")
    with pytest.raises(NotFound):
        client.create_run("987654321")


def test_search_experiments_filter_order_and_pages(client: Any) -> None:
    prefix = unique("search")
    ids = {}
    for index, letter in enumerate("cabd"):
        ids[letter] = client.create_experiment(f"{prefix}-{letter}", tags={"parity": "even" if index % 2 else "odd"})

    def names(**kwargs: Any) -> list[str]:
        return [e.name for e in client.search_experiments(**kwargs)]

    by_name = names(filter_string=f"name LIKE '{prefix}-%'", order_by=["name ASC"])
    assert by_name == [f"{prefix}-{x}" for x in "abcd"]
    assert names(filter_string=f"name LIKE '{prefix}-%'", order_by=["name DESC"]) == by_name[::-1]
    assert names(filter_string=f"name ILIKE '{prefix.upper()}-%' AND tags.parity = 'odd'", order_by=["name"]) == [
        f"{prefix}-b",
        f"{prefix}-c",
    ]
    assert names(filter_string=f"name = '{prefix}-d'") == [f"{prefix}-d"]

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = client.search_experiments(
            max_results=3, filter_string=f"name LIKE '{prefix}-%'", order_by=["name"], page_token=token
        )
        seen.extend(e.name for e in page)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == by_name and pages == 2


def test_search_experiments_by_id_and_bad_filters(client: Any, experiment_id: str) -> None:
    found = client.search_experiments(filter_string=f"experiment_id = '{experiment_id}'")
    assert [e.experiment_id for e in found] == [experiment_id]
    for bad, fragment in [
        ("experiment_id = 'x'", "'x'"),
        ("name LIKE", "Missing value"),
        ("metrics.acc > 1", "metrics.acc"),
        ("owner = 'me'", "owner"),
    ]:
        with pytest.raises(InvalidInput, match=fragment):
            client.search_experiments(filter_string=bad)
    with pytest.raises(InvalidInput, match="page token"):
        client.search_experiments(page_token="%%%")


# Runs ------------------------------------------------------------------------------------
def test_create_run_and_status_lifecycle(client: Any, experiment_id: str) -> None:
    run = client.create_run(experiment_id, tags={"k": "v"}, run_name="first")
    info = run.info
    assert info.status == RunStatus.RUNNING
    assert info.run_name == "first" and run.data.tags["mlflow.runName"] == "first"
    assert run.data.tags["k"] == "v"
    assert info.experiment_id == experiment_id
    assert info.start_time and info.end_time is None
    assert info.lifecycle_stage == LifecycleStage.ACTIVE
    assert info.artifact_uri.endswith(f"{info.run_id}/artifacts")

    client.set_terminated(info.run_id, "FAILED")
    info = client.get_run(info.run_id).info
    assert info.status == RunStatus.FAILED and info.end_time and info.end_time >= info.start_time
    client.update_run(info.run_id, RunStatus.KILLED)
    assert client.get_run(info.run_id).info.status == RunStatus.KILLED
    client.update_run(info.run_id, name="renamed")
    assert client.get_run(info.run_id).info.run_name == "renamed"


def test_run_without_name_gets_one(client: Any, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    assert run.info.run_name
    assert run.data.tags["mlflow.runName"] == run.info.run_name


def test_delete_and_restore_run(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "p", 1)
    client.delete_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.DELETED
    assert client.search_runs([experiment_id]).items == []
    assert [r.info.run_id for r in client.search_runs([experiment_id], run_view_type="DELETED_ONLY")] == [run_id]
    assert [r.info.run_id for r in client.search_runs([experiment_id], run_view_type=ViewType.ALL)] == [run_id]
    with pytest.raises(InvalidInput, match="deleted"):
        client.log_metric(run_id, "m", 1.0)
    client.restore_run(run_id)
    assert client.get_run(run_id).info.lifecycle_stage == LifecycleStage.ACTIVE
    assert client.get_run(run_id).data.params == {"p": "1"}


def test_unknown_run_id_is_not_found(client: Any) -> None:
    missing = uuid.uuid4().hex
    for call in (
        lambda: client.get_run(missing),
        lambda: client.log_metric(missing, "m", 1.0),
        lambda: client.log_param(missing, "p", "v"),
        lambda: client.set_tag(missing, "t", "v"),
        lambda: client.delete_run(missing),
        lambda: client.set_terminated(missing),
        lambda: client.get_metric_history(missing, "m"),
    ):
        with pytest.raises(NotFound, match=missing):
            call()


# Params ----------------------------------------------------------------------------------
def test_params_relog_same_value_ok_changed_value_rejected(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", "0.1")  # same string value: accepted
    with pytest.raises(InvalidInput, match="lr"):
        client.log_param(run_id, "lr", 0.2)
    client.log_batch(run_id, params=[Param("lr", "0.1"), Param("depth", "3")])
    with pytest.raises(InvalidInput, match="lr"):
        client.log_batch(run_id, params=[Param("other", "x"), Param("lr", "0.3")])
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3"}


# Metrics ---------------------------------------------------------------------------------
def test_metrics_special_values_steps_and_history(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    client.log_metric(run_id, "nan", math.nan, timestamp=ts)
    client.log_metric(run_id, "pinf", math.inf, timestamp=ts)
    client.log_metric(run_id, "ninf", -math.inf, timestamp=ts)
    for step, value in [(2, 0.5), (0, 0.1), (1, 0.3), (1, 0.35)]:
        client.log_metric(run_id, "loss", value, timestamp=ts + step, step=step)

    data = client.get_run(run_id).data
    assert math.isnan(data.metrics["nan"])
    assert data.metrics["pinf"] == math.inf
    assert data.metrics["ninf"] == -math.inf
    assert data.metrics["loss"] == 0.5  # the value at the highest step
    assert data.latest_metrics["loss"].step == 2

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 0.1), (1, 0.3), (1, 0.35), (2, 0.5)]
    assert all(m.key == "loss" for m in history)
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)
    assert client.get_metric_history(run_id, "never-logged") == []


def test_full_history_of_many_points(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    for chunk in range(3):
        client.log_batch(
            run_id, metrics=[Metric("m", float(i), ts, i) for i in range(chunk * 1000, chunk * 1000 + 1000)]
        )
    history = client.get_metric_history(run_id, "m")
    assert [m.step for m in history] == list(range(3000))
    assert client.get_run(run_id).data.metrics["m"] == 2999.0


def test_metric_history_pages(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, metrics=[Metric("m", float(i), now_ms(), i) for i in range(5)])
    page = client.store.get_metric_history(run_id, "m", max_results=2)
    steps = [m.step for m in page]
    while page.next_page_token:
        page = client.store.get_metric_history(run_id, "m", max_results=2, page_token=page.next_page_token)
        steps.extend(m.step for m in page)
    assert steps == [0, 1, 2, 3, 4]


def test_log_batch_writes_everything(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    ts = now_ms()
    client.log_batch(
        run_id,
        metrics=[Metric("acc", 0.9, ts, 0), Metric("acc", 0.95, ts + 1, 1), Metric("loss", 0.2, ts, 0)],
        params=[Param("C", "1.0"), Param("kernel", "rbf")],
        tags=[RunTag("team", "a"), RunTag("team", "b")],
    )
    data = client.get_run(run_id).data
    assert data.metrics == {"acc": 0.95, "loss": 0.2}
    assert data.params == {"C": "1.0", "kernel": "rbf"}
    assert data.tags["team"] == "b"
    assert len(client.get_metric_history(run_id, "acc")) == 2


def test_log_batch_is_all_or_nothing(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "fixed", "1")
    with pytest.raises(InvalidInput, match="fixed"):
        client.log_batch(
            run_id,
            metrics=[Metric("m", 1.0, now_ms(), 0)],
            params=[Param("fresh", "x"), Param("fixed", "2")],
            tags=[RunTag("t", "v")],
        )
    run = client.get_run(run_id)
    assert run.data.metrics == {}
    assert run.data.params == {"fixed": "1"}
    assert "t" not in run.data.tags
    assert client.get_metric_history(run_id, "m") == []


# Tags ------------------------------------------------------------------------------------
def test_run_tags_set_overwrite_delete(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "color", "red")
    client.set_tag(run_id, "color", "blue")
    client.set_tag(run_id, "n", 3)
    tags = client.get_run(run_id).data.tags
    assert tags["color"] == "blue" and tags["n"] == "3"
    client.delete_tag(run_id, "color")
    assert "color" not in client.get_run(run_id).data.tags
    with pytest.raises(NotFound, match="color"):
        client.delete_tag(run_id, "color")


def test_setting_run_name_tag_renames_the_run(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id, run_name="before").info.run_id
    client.set_tag(run_id, "mlflow.runName", "after")
    assert client.get_run(run_id).info.run_name == "after"


# Dataset inputs --------------------------------------------------------------------------
def test_dataset_inputs(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    dataset = DatasetInput(
        name="iris",
        digest="abc123",
        source_type="local",
        source='{"uri": "/data/iris.csv"}',
        schema='{"mlflow_colspec": []}',
        profile='{"num_rows": 150}',
        tags={"mlflow.data.context": "training"},
    )
    client.log_inputs(run_id, [dataset])
    client.log_inputs(run_id, [dataset])  # idempotent per name and digest
    client.log_inputs(run_id, [DatasetInput("iris", "def456", "local", "{}")])
    datasets = sorted(client.get_run(run_id).inputs.datasets, key=lambda d: d.digest)
    assert [(d.name, d.digest) for d in datasets] == [("iris", "abc123"), ("iris", "def456")]
    assert datasets[0] == dataset
    with pytest.raises(InvalidInput):
        client.log_inputs(run_id, [DatasetInput("", "", "local", "{}")])


def test_dataset_from_pandas(client: Any, experiment_id: str) -> None:
    pd = pytest.importorskip("pandas")
    from trackflow.tracking.datasets import as_dataset_input

    frame = pd.DataFrame({"x": [1, 2, 3], "y": [0.1, 0.2, 0.3]})
    run_id = client.create_run(experiment_id).info.run_id
    client.log_inputs(run_id, [as_dataset_input(frame, context="training", name="frame")])
    (dataset,) = client.get_run(run_id).inputs.datasets
    assert dataset.name == "frame" and dataset.digest
    assert dataset.tags == {"mlflow.data.context": "training"}
    assert '"num_rows": 3' in (dataset.profile or "")


# search_runs -----------------------------------------------------------------------------
@pytest.fixture
def population(client: Any, experiment_id: str) -> dict[str, str]:
    """Five runs with metrics/params/tags to search over; name -> run id."""
    spec = [
        ("r0", {"acc": 0.5, "loss": 1.0}, {"model": "lr", "C": "0.1"}, {"team": "Alpha"}, "FINISHED"),
        ("r1", {"acc": 0.7, "loss": 0.6}, {"model": "lr", "C": "1.0"}, {"team": "beta"}, "FINISHED"),
        ("r2", {"acc": 0.9, "loss": 0.3}, {"model": "svm", "C": "1.0"}, {"team": "alpha"}, "FAILED"),
        ("r3", {"acc": 0.95}, {"model": "tree"}, {"team": "gamma"}, "RUNNING"),
        ("r4", {"loss": math.inf}, {"model": "svm", "C": "10"}, {}, "FINISHED"),
    ]
    ids = {}
    base = now_ms() - 10_000
    for index, (name, metrics, params, tags, status) in enumerate(spec):
        run = client.create_run(experiment_id, run_name=name, start_time=base + index)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric(k, v, base, 0) for k, v in metrics.items()],
            params=[Param(k, v) for k, v in params.items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        if status != "RUNNING":
            client.set_terminated(run.info.run_id, status)
        ids[name] = run.info.run_id
    return ids


FILTERS = [
    ("metrics.acc = 0.7", {"r1"}),
    ("metrics.acc != 0.7", {"r0", "r2", "r3"}),
    ("metrics.acc < 0.7", {"r0"}),
    ("metrics.acc <= 0.7", {"r0", "r1"}),
    ("metrics.acc > 0.7", {"r2", "r3"}),
    ("metrics.acc >= 0.9", {"r2", "r3"}),
    ("metrics.loss > 100", {"r4"}),
    ("metric.loss < 0.5", {"r2"}),
    ("params.model = 'lr'", {"r0", "r1"}),
    ("params.model != 'lr'", {"r2", "r3", "r4"}),
    ("params.model LIKE 's%'", {"r2", "r4"}),
    ("params.model LIKE 'S%'", set()),
    ("params.model ILIKE 'S%'", {"r2", "r4"}),
    ("params.C IN ('1.0', '10')", {"r1", "r2", "r4"}),
    ("params.C NOT IN ('1.0', '10')", {"r0"}),
    ("tags.team = 'alpha'", {"r2"}),
    ("tags.team LIKE '%lpha'", {"r0", "r2"}),
    ("tags.team ILIKE 'ALPHA'", {"r0", "r2"}),
    ("tags.team IN ('beta', 'gamma')", {"r1", "r3"}),
    ("tags.team NOT IN ('beta')", {"r0", "r2", "r3"}),
    ("tags.`mlflow.runName` = 'r3'", {"r3"}),
    ("attributes.status = 'FINISHED'", {"r0", "r1", "r4"}),
    ("attributes.status != 'FINISHED'", {"r2", "r3"}),
    ("attributes.status IN ('FAILED', 'RUNNING')", {"r2", "r3"}),
    ("attributes.run_name LIKE 'r%' AND attributes.run_name NOT IN ('r0', 'r1')", {"r2", "r3", "r4"}),
    ("run_name ILIKE 'R4'", {"r4"}),
    ("metrics.acc > 0.6 AND params.model = 'lr'", {"r1"}),
    ("metrics.acc >= 0.5 AND params.C = '1.0' AND tags.team = 'alpha'", {"r2"}),
    ("params.model = 'nope'", set()),
]


@pytest.mark.parametrize(("filter_string", "expected"), FILTERS, ids=[f for f, _ in FILTERS])
def test_search_runs_filter(
    client: Any, experiment_id: str, population: dict[str, str], filter_string: str, expected: set[str]
) -> None:
    names = {r.info.run_name for r in client.search_runs([experiment_id], filter_string)}
    assert names == expected


def test_search_runs_attribute_time_and_id_filters(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    start = client.get_run(population["r2"]).info.start_time
    later = {r.info.run_name for r in client.search_runs([experiment_id], f"attributes.start_time > {start}")}
    assert later == {"r3", "r4"}
    wanted = f"attributes.run_id IN ('{population['r0']}', '{population['r4']}')"
    assert {r.info.run_name for r in client.search_runs([experiment_id], wanted)} == {"r0", "r4"}


def test_search_runs_by_experiment_id(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    other = client.create_experiment(unique())
    client.create_run(other, run_name="elsewhere")
    both = [experiment_id, other]
    names = {r.info.run_name for r in client.search_runs(both, f"attributes.experiment_id = '{other}'")}
    assert names == {"elsewhere"}
    names = {r.info.run_name for r in client.search_runs(both, f"attributes.experiment_id IN ('{other}', '0')")}
    assert names == {"elsewhere"}
    assert len(client.search_runs(both, f"attributes.experiment_id != '{other}'").items) == 5
    with pytest.raises(InvalidInput, match="abc"):
        client.search_runs(both, "attributes.experiment_id = 'abc'")
    with pytest.raises(InvalidInput, match="abc"):
        client.search_runs(both, "attributes.experiment_id IN ('1', 'abc')")
    with pytest.raises(InvalidInput, match="abc"):
        client.search_runs(["abc"])


def test_search_runs_order_by(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    def order(*clauses: str) -> list[str]:
        return [r.info.run_name for r in client.search_runs([experiment_id], order_by=list(clauses))]

    assert order() == ["r4", "r3", "r2", "r1", "r0"]  # default: newest first
    assert order("attributes.start_time ASC") == ["r0", "r1", "r2", "r3", "r4"]
    assert order("metrics.acc DESC") == ["r3", "r2", "r1", "r0", "r4"]  # missing values last
    assert order("metrics.acc ASC") == ["r0", "r1", "r2", "r3", "r4"]
    assert order("params.model ASC", "metrics.acc DESC") == ["r1", "r0", "r2", "r4", "r3"]
    assert order("params.model DESC", "run_name DESC") == ["r3", "r4", "r2", "r1", "r0"]
    assert order("tags.team ASC")[-1] == "r4"  # no team tag: last


def test_search_runs_pages(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = client.search_runs([experiment_id], order_by=["metrics.acc DESC"], max_results=2, page_token=token)
        assert len(page.items) <= 2
        seen.extend(r.info.run_name for r in page)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert seen == ["r3", "r2", "r1", "r0", "r4"] and pages == 3
    page = client.search_runs([experiment_id], max_results=5)
    assert len(page.items) == 5 and page.next_page_token is None


def test_search_runs_across_experiments(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    other = client.create_experiment(unique())
    client.create_run(other, run_name="elsewhere")
    names = {r.info.run_name for r in client.search_runs([experiment_id, other])}
    assert names == {"r0", "r1", "r2", "r3", "r4", "elsewhere"}
    assert [r.info.run_name for r in client.search_runs(other)] == ["elsewhere"]


def test_search_runs_returns_full_runs(client: Any, experiment_id: str, population: dict[str, str]) -> None:
    (run,) = client.search_runs([experiment_id], "attributes.run_name = 'r1'")
    assert run.data.metrics == {"acc": 0.7, "loss": 0.6}
    assert run.data.params == {"model": "lr", "C": "1.0"}
    assert run.data.tags["team"] == "beta"
    assert run.info.status == RunStatus.FINISHED


@pytest.mark.parametrize(
    ("filter_string", "fragment"),
    [
        ("metrics.acc >", "Missing value"),
        ("metrics.acc > 'high'", "Expected a number"),
        ("params.model = lr", "quoted string"),
        ("params.model = 'lr' OR params.model = 'svm'", "OR"),
        ("nonsense.key = 'x'", "nonsense"),
        ("attributes.color = 'red'", "color"),
        ("params.model ~ 'x'", "~"),
        ("params.model = 'unterminated", "Unterminated"),
        ("metrics.acc LIKE '0.%'", "LIKE"),
        ("params.C IN '1.0'", "IN"),
        ("metrics.acc > 0.5 AND", "AND"),
    ],
)
def test_search_runs_malformed_filter(client: Any, experiment_id: str, filter_string: str, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        client.search_runs([experiment_id], filter_string)


def test_search_runs_bad_order_by_and_page_token(client: Any, experiment_id: str) -> None:
    with pytest.raises(InvalidInput, match="SIDEWAYS"):
        client.search_runs([experiment_id], order_by=["metrics.acc SIDEWAYS"])
    with pytest.raises(InvalidInput, match="page token"):
        client.search_runs([experiment_id], page_token="not-a-token")
    with pytest.raises(InvalidInput, match="max_results"):
        client.search_runs([experiment_id], max_results=0)


# Bad input through the client ------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [
        "",
        "bad!key",
        "semi;colon",
        "../escape",
        "/absolute",
        "a/./b",
        "x" * 251,
        "new\nline",
        "tab\tkey",
        "q'uote",
        "trailing\n",
    ],
    ids=[
        "empty",
        "bang",
        "semicolon",
        "dotdot",
        "absolute",
        "dot-part",
        "too-long",
        "newline",
        "tab",
        "quote",
        "trailing-newline",
    ],
)
def test_invalid_keys_are_rejected(client: Any, experiment_id: str, key: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_batch(run_id, metrics=[Metric("kept", 1.0, now_ms(), 0)], params=[Param("p", "1")])
    before = client.get_run(run_id).data
    for call in (
        lambda: client.log_metric(run_id, key, 1.0),
        lambda: client.log_param(run_id, key, "v"),
        lambda: client.set_tag(run_id, key, "v"),
    ):
        with pytest.raises(InvalidInput):
            call()
    after = client.get_run(run_id).data
    assert (after.metrics, after.params, after.tags) == (before.metrics, before.params, before.tags)


def test_valid_unusual_keys_are_accepted(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    keys = [
        "with space",
        "a/b/c",
        "colon:key",
        "dash-and_under.score",
        "x" * 250,
        "ünïcode",
    ]  # \w is Unicode-aware, as in MLflow
    client.log_batch(run_id, metrics=[Metric(k, 1.0, now_ms(), 0) for k in keys])
    assert set(client.get_run(run_id).data.metrics) == set(keys)


def test_over_long_values_and_wrong_types(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    client.log_param(run_id, "max", "v" * 6000)
    with pytest.raises(InvalidInput, match="6001"):
        client.log_param(run_id, "toolong", "v" * 6001)
    client.set_tag(run_id, "maxtag", "t" * 8000)
    with pytest.raises(InvalidInput, match="8001"):
        client.set_tag(run_id, "toolongtag", "t" * 8001)
    with pytest.raises(InvalidInput, match="number"):
        client.log_metric(run_id, "m", "not-a-number")
    with pytest.raises(InvalidInput, match="number"):
        client.log_metric(run_id, "m", True)
    with pytest.raises(InvalidInput, match="step"):
        client.log_batch(run_id, metrics=[Metric("m", 1.0, now_ms(), "one")])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="experiment name"):
        client.create_experiment("")
    with pytest.raises(InvalidInput, match="257"):
        client.create_experiment("e" * 257)
    with pytest.raises(InvalidInput, match="run name"):
        client.create_run(experiment_id, run_name="r" * 251)
    with pytest.raises(InvalidInput, match="at most 1000 metrics"):
        client.log_batch(run_id, metrics=[Metric("m", 1.0, now_ms(), i) for i in range(1001)])
    data = client.get_run(run_id).data
    assert data.params == {"max": "v" * 6000}
    assert "toolongtag" not in data.tags and data.metrics == {}


def test_nul_characters_are_rejected_on_every_backend(client: Any, experiment_id: str) -> None:
    """PostgreSQL text cannot hold NUL: every backend refuses it the same way."""
    run_id = client.create_run(experiment_id).info.run_id
    client.set_tag(run_id, "kept", "yes")
    calls = [
        lambda: client.set_tag(run_id, "k", "a\x00b"),
        lambda: client.log_param(run_id, "p", "\x00"),
        lambda: client.create_experiment("nul\x00name"),
        lambda: client.set_experiment_tag(experiment_id, "k", "v\x00"),
        lambda: client.create_run(experiment_id, run_name="r\x00"),
        lambda: client.search_runs([experiment_id], "params.p = 'a\x00'"),
        lambda: client.search_experiments(filter_string="name = 'a\x00'"),
        lambda: client.delete_tag(run_id, "k\x00"),
    ]
    for call in calls:
        with pytest.raises((InvalidInput, NotFound)):
            call()
    # Lookups by a NUL-holding key find nothing (SQLite) or are refused as bad input (PostgreSQL).
    for lookup, nothing in [
        (lambda: client.get_metric_history(run_id, "m\x00"), []),
        (lambda: client.get_experiment_by_name("nul\x00name"), None),
    ]:
        try:
            assert lookup() == nothing
        except InvalidInput:
            pass
    assert client.get_run(run_id).data.tags["kept"] == "yes"
