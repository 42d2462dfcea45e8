"""The fluent API (trackflow.start_run, log_*, search_runs) on every tracking backend."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

import trackflow
from trackflow.entities import RunStatus
from trackflow.errors import InvalidInput, NotFound


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_public_names_resolve() -> None:
    for name in ("start_run", "log_metric", "search_runs", "Client", "set_experiment", "log_figure"):
        assert callable(getattr(trackflow, name))


def test_context_manager_finishes_run_and_logs(fluent: Any, client: Any) -> None:
    experiment = fluent.set_experiment(unique())
    with fluent.start_run(run_name="lr", tags={"use_case": "demo"}) as run:
        assert fluent.active_run().info.run_id == run.info.run_id
        fluent.log_param("C", 1.0)
        fluent.log_params({"kernel": "rbf", "depth": 3})
        fluent.log_metric("acc", 0.9, step=1)
        fluent.log_metrics({"acc": 0.93, "loss": 0.1}, step=2)
        fluent.set_tag("stage", "dev")
        fluent.set_tags({"owner": "ann", "tmp": "x"})
        fluent.delete_tag("tmp")
    assert fluent.active_run() is None
    stored = client.get_run(run.info.run_id)
    assert stored.info.experiment_id == experiment.experiment_id
    assert stored.info.status == RunStatus.FINISHED and stored.info.end_time
    assert stored.info.run_name == "lr"
    assert stored.data.params == {"C": "1.0", "kernel": "rbf", "depth": "3"}
    assert stored.data.metrics == {"acc": 0.93, "loss": 0.1}
    assert [m.value for m in client.get_metric_history(run.info.run_id, "acc")] == [0.9, 0.93]
    tags = stored.data.tags
    assert tags["use_case"] == "demo" and tags["stage"] == "dev" and tags["owner"] == "ann"
    assert "tmp" not in tags and tags["mlflow.source.type"] == "LOCAL"
    assert fluent.last_active_run_id() is None


def test_context_manager_marks_failed_when_block_raises(fluent: Any, client: Any) -> None:
    fluent.set_experiment(unique())
    with pytest.raises(ZeroDivisionError):
        with fluent.start_run() as run:
            fluent.log_metric("before", 1.0)
            1 / 0  # noqa: B018
    stored = client.get_run(run.info.run_id)
    assert stored.info.status == RunStatus.FAILED
    assert stored.data.metrics == {"before": 1.0}
    assert fluent.active_run() is None


def test_nested_runs(fluent: Any, client: Any) -> None:
    experiment = fluent.set_experiment(unique())
    with fluent.start_run(run_name="parent") as parent:
        with pytest.raises(InvalidInput, match="already active"):
            fluent.start_run()
        with fluent.start_run(run_name="child", nested=True) as child:
            with fluent.start_run(run_name="grandchild", nested=True) as grandchild:
                fluent.log_metric("depth", 2)
            assert fluent.active_run().info.run_id == child.info.run_id
        assert fluent.active_run().info.run_id == parent.info.run_id
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert runs["child"].parent_run_id == parent.info.run_id
    assert runs["grandchild"].parent_run_id == child.info.run_id
    assert runs["parent"].parent_run_id is None
    assert all(r.info.status == RunStatus.FINISHED for r in runs.values())
    children = client.search_runs([experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert [r.info.run_id for r in children] == [child.info.run_id]
    assert client.get_run(grandchild.info.run_id).data.metrics == {"depth": 2.0}


def test_resume_run_by_id(fluent: Any, client: Any) -> None:
    fluent.set_experiment(unique())
    with fluent.start_run() as first:
        fluent.log_param("p", "1")
    with fluent.start_run(run_id=first.info.run_id):
        fluent.log_metric("later", 2.0)
    stored = client.get_run(first.info.run_id)
    assert stored.data.params == {"p": "1"} and stored.data.metrics == {"later": 2.0}
    assert stored.info.status == RunStatus.FINISHED


def test_logging_without_active_run_starts_one(fluent: Any, client: Any) -> None:
    fluent.set_experiment(unique())
    fluent.log_metric("auto", 1.0)
    run = fluent.active_run()
    assert run is not None
    fluent.end_run("KILLED")
    assert client.get_run(run.info.run_id).info.status == RunStatus.KILLED


def test_bad_values_raise_invalid_input(fluent: Any, client: Any) -> None:
    fluent.set_experiment(unique())
    with fluent.start_run() as run:
        fluent.log_metric("ok", 1.0)
        with pytest.raises(InvalidInput, match="'bad'"):
            fluent.log_metrics({"fine": 1.0, "bad": "high"})
        with pytest.raises(InvalidInput, match="'worse'"):
            fluent.log_metric("worse", None)
        with pytest.raises(InvalidInput, match="bad key!"):
            fluent.log_params({"bad key!": 1})
    assert client.get_run(run.info.run_id).data.metrics == {"ok": 1.0}


def test_set_experiment_by_id_and_deleted(fluent: Any, client: Any) -> None:
    experiment_id = client.create_experiment(unique())
    assert fluent.set_experiment(experiment_id=experiment_id).experiment_id == experiment_id
    client.delete_experiment(experiment_id)
    with pytest.raises(InvalidInput, match="deleted"):
        fluent.set_experiment(experiment_id=experiment_id)
    with pytest.raises(InvalidInput):
        fluent.set_experiment()


def test_log_input_of_a_dataframe(fluent: Any, client: Any) -> None:
    pd = pytest.importorskip("pandas")
    fluent.set_experiment(unique())
    with fluent.start_run() as run:
        fluent.log_input(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), context="training")
    (dataset,) = client.get_run(run.info.run_id).inputs.datasets
    assert dataset.tags == {"mlflow.data.context": "training"} and dataset.digest


def test_search_runs_as_dataframe(fluent: Any) -> None:
    name = unique()
    experiment = fluent.set_experiment(name)
    for index in range(3):
        with fluent.start_run(run_name=f"r{index}"):
            fluent.log_metric("acc", index / 10)
            fluent.log_param("index", index)
            fluent.set_tag("even", str(index % 2 == 0))
    frame = fluent.search_runs(
        experiment_names=[name], filter_string="metrics.acc > 0.05", order_by=["metrics.acc DESC"]
    )
    assert list(frame["tags.mlflow.runName"]) == ["r2", "r1"]
    assert list(frame["metrics.acc"]) == [0.2, 0.1]
    assert list(frame["params.index"]) == ["2", "1"]
    assert set(frame["status"]) == {"FINISHED"}
    assert {"run_id", "experiment_id", "start_time", "end_time", "artifact_uri", "tags.even"} <= set(frame.columns)
    assert str(frame["start_time"].dtype).startswith("datetime64")

    default_experiment = fluent.search_runs()  # the active experiment
    assert len(default_experiment) == 3
    runs = fluent.search_runs([experiment.experiment_id], output_format="list", max_results=2)
    assert len(runs) == 2 and all(hasattr(r, "info") for r in runs)
    empty = fluent.search_runs([experiment.experiment_id], filter_string="params.index = 'none'")
    assert len(empty) == 0 and "run_id" in empty.columns
    with pytest.raises(NotFound, match="no-such"):
        fluent.search_runs(experiment_names=["no-such-experiment-" + uuid.uuid4().hex])
    with pytest.raises(InvalidInput, match="output_format"):
        fluent.search_runs([experiment.experiment_id], output_format="xml")
