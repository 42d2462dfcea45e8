"""The official MLflow client (mlflow-skinny), unchanged, against a real trackflow server."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackflow.tracking.client import Client

pytestmark = pytest.mark.filterwarnings("ignore:::mlflow")
mlflow = pytest.importorskip("mlflow")
from mlflow.entities import Metric as MlflowMetric  # noqa: E402
from mlflow.entities import Param as MlflowParam  # noqa: E402
from mlflow.entities import RunTag as MlflowRunTag  # noqa: E402
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def unique(prefix: str = "mlflow") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def server(running_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The session server as MLflow's tracking URI; MLflow's fluent state is reset afterwards."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", running_server)
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "false")
    mlflow.set_tracking_uri(running_server)
    try:
        yield running_server
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(None)


@pytest.fixture
def mlflow_client(server: str) -> MlflowClient:
    return MlflowClient(tracking_uri=server)


def test_fluent_logging_round_trip(server: str, tmp_path: Path) -> None:
    name = unique()
    experiment = mlflow.set_experiment(name)
    local = tmp_path / "report.txt"
    local.write_text("all good")
    with mlflow.start_run(run_name="skinny") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"l1": 0.1, "solver": "saga"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8})
        mlflow.log_metric("weird", math.nan)
        mlflow.set_tag("team", "ml")
        mlflow.set_tags({"a": "1", "b": "2"})
        mlflow.log_dict({"x": [1, 2]}, "cfg/config.json")
        mlflow.log_text("some text", "notes.txt")
        mlflow.log_artifact(str(local), artifact_path="reports")
    run_id = run.info.run_id

    # trackflow's own client sees exactly what MLflow logged.
    stored = Client(server).get_run(run_id)
    assert stored.info.experiment_id == experiment.experiment_id
    assert stored.info.run_name == "skinny" and stored.info.status.value == "FINISHED"
    assert stored.data.params == {"alpha": "0.5", "l1": "0.1", "solver": "saga"}
    assert stored.data.metrics["loss"] == pytest.approx(1 / 3)
    assert stored.data.metrics["acc"] == 0.9 and math.isnan(stored.data.metrics["weird"])
    assert stored.data.tags["team"] == "ml" and stored.data.tags["b"] == "2"

    fetched = mlflow.get_run(run_id)
    assert fetched.data.params["solver"] == "saga"
    assert fetched.data.metrics["f1"] == 0.8
    assert math.isnan(fetched.data.metrics["weird"])
    history = MlflowClient().get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]

    client = MlflowClient()
    assert sorted(f.path for f in client.list_artifacts(run_id)) == ["cfg", "notes.txt", "reports"]
    assert [f.path for f in client.list_artifacts(run_id, "reports")] == ["reports/report.txt"]
    downloaded = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="cfg", dst_path=str(tmp_path / "dl"))
    assert json.loads((Path(downloaded) / "config.json").read_text()) == {"x": [1, 2]}
    report = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="reports/report.txt", dst_path=str(tmp_path / "dl2")
    )
    assert Path(report).read_text() == "all good"
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes.txt") == "some text"
    assert Client(server).list_artifacts(run_id, "cfg")[0].path == "cfg/config.json"


def test_failed_block_marks_run_failed(server: str) -> None:
    mlflow.set_experiment(unique())
    with pytest.raises(RuntimeError):
        with mlflow.start_run() as run:
            raise RuntimeError("boom")
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_nested_runs(server: str) -> None:
    mlflow.set_experiment(unique())
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            pass
    assert mlflow.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_log_batch_and_search_runs_dataframe(server: str, mlflow_client: MlflowClient) -> None:
    name = unique()
    experiment_id = mlflow_client.create_experiment(name)
    for index in range(4):
        run = mlflow_client.create_run(experiment_id, run_name=f"r{index}")
        mlflow_client.log_batch(
            run.info.run_id,
            metrics=[MlflowMetric("acc", index / 10, 0, s) for s in range(2)],
            params=[MlflowParam("index", str(index)), MlflowParam("kind", "even" if index % 2 == 0 else "odd")],
            tags=[MlflowRunTag("group", "g")],
        )
        mlflow_client.set_terminated(run.info.run_id)
    frame = mlflow.search_runs(
        experiment_names=[name],
        filter_string="metrics.acc >= 0.1 AND params.kind = 'odd'",
        order_by=["metrics.acc DESC"],
    )
    assert list(frame["params.index"]) == ["3", "1"]
    assert list(frame["metrics.acc"]) == [0.3, 0.1]
    assert set(frame["status"]) == {"FINISHED"}
    assert set(frame["tags.group"]) == {"g"}

    runs = mlflow_client.search_runs([experiment_id], "params.index IN ('0', '2')", order_by=["params.index ASC"])
    assert [r.data.params["index"] for r in runs] == ["0", "2"]
    page = mlflow_client.search_runs([experiment_id], max_results=3)
    assert len(page) == 3 and page.token
    rest = mlflow_client.search_runs([experiment_id], max_results=3, page_token=page.token)
    assert len(rest) == 1 and not rest.token


def test_experiment_operations(server: str, mlflow_client: MlflowClient) -> None:
    name = unique()
    experiment_id = mlflow_client.create_experiment(name, tags={"owner": "ann"})
    experiment = mlflow_client.get_experiment(experiment_id)
    assert experiment.name == name and experiment.tags["owner"] == "ann"
    assert mlflow_client.get_experiment_by_name(name).experiment_id == experiment_id

    mlflow_client.set_experiment_tag(experiment_id, "stage", "prod")
    mlflow_client.delete_experiment_tag(experiment_id, "owner")
    tags = mlflow_client.get_experiment(experiment_id).tags
    assert tags.get("stage") == "prod" and "owner" not in tags

    renamed = unique("renamed")
    mlflow_client.rename_experiment(experiment_id, renamed)
    assert mlflow_client.get_experiment(experiment_id).name == renamed

    mlflow_client.delete_experiment(experiment_id)
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    deleted = mlflow_client.search_experiments(view_type=mlflow.entities.ViewType.DELETED_ONLY)
    assert experiment_id in {e.experiment_id for e in deleted}
    mlflow_client.restore_experiment(experiment_id)
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "active"

    found = mlflow_client.search_experiments(filter_string=f"name = '{renamed}'")
    assert [e.experiment_id for e in found] == [experiment_id]

    with pytest.raises(MlflowException) as exc:
        mlflow_client.create_experiment(renamed)
    assert exc.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_run_lifecycle_and_tags(server: str, mlflow_client: MlflowClient) -> None:
    experiment_id = mlflow_client.create_experiment(unique())
    run = mlflow_client.create_run(experiment_id, tags={"k": "v"})
    run_id = run.info.run_id
    mlflow_client.set_tag(run_id, "tmp", "x")
    mlflow_client.delete_tag(run_id, "tmp")
    mlflow_client.update_run(run_id, status="KILLED", name="renamed")
    info = mlflow_client.get_run(run_id).info
    assert info.status == "KILLED" and info.run_name == "renamed"
    mlflow_client.delete_run(run_id)
    assert mlflow_client.get_run(run_id).info.lifecycle_stage == "deleted"
    mlflow_client.restore_run(run_id)
    assert mlflow_client.get_run(run_id).info.lifecycle_stage == "active"
    assert "tmp" not in mlflow_client.get_run(run_id).data.tags


def test_log_input_of_a_pandas_dataset(server: str) -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(frame, name="toy", targets="y")
    mlflow.set_experiment(unique())
    with mlflow.start_run() as run:
        mlflow.log_input(dataset, context="training")
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1
    assert inputs[0].dataset.name == "toy" and inputs[0].dataset.digest == dataset.digest
    assert {t.key: t.value for t in inputs[0].tags}.get("mlflow.data.context") == "training"
    (stored,) = Client(server).get_run(run.info.run_id).inputs.datasets
    assert stored.name == "toy" and stored.schema and "x" in stored.schema


def test_error_codes(server: str, mlflow_client: MlflowClient) -> None:
    with pytest.raises(MlflowException) as missing:
        mlflow_client.get_run(uuid.uuid4().hex)
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as missing_experiment:
        mlflow_client.get_experiment("999999999")
    assert missing_experiment.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    experiment_id = mlflow_client.create_experiment(unique())
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.log_param(run_id, "p", "1")
    with pytest.raises(MlflowException) as changed:
        mlflow_client.log_param(run_id, "p", "2")
    assert changed.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "'p'" in changed.value.message
    assert mlflow_client.get_run(run_id).data.params == {"p": "1"}
    with pytest.raises(MlflowException) as bad_filter:
        mlflow_client.search_runs([experiment_id], "metrics.acc >>> 1")
    assert bad_filter.value.error_code == "INVALID_PARAMETER_VALUE"
