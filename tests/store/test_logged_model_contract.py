"""The logged-model half of the TrackingStore contract, through ``trackflow.Client``, on every
backend (embedded SQLite, embedded PostgreSQL, the REST store against a real server)."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import pytest

from trackflow.entities import DatasetFilter, LoggedModelOrder, LoggedModelStatus, Metric, ModelOutput
from trackflow.errors import InvalidInput, NotFound


def test_create_get_finalize_and_delete(client: Any, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    model = client.create_logged_model(
        experiment_id, "clf", run.run_id, tags={"team": "ml"}, params={"C": 1}, model_type="classifier"
    )
    assert model.model_id.startswith("m-") and len(model.model_id) == 34
    assert model.artifact_location.endswith(f"/{experiment_id}/models/{model.model_id}/artifacts")
    assert model.status == LoggedModelStatus.PENDING and model.source_run_id == run.run_id
    got = client.get_logged_model(model.model_id)
    assert (got.name, got.tags, got.params, got.model_type) == ("clf", {"team": "ml"}, {"C": "1"}, "classifier")
    ready = client.finalize_logged_model(model.model_id, "READY")
    assert ready.status == LoggedModelStatus.READY and ready.last_updated_timestamp >= model.creation_timestamp
    assert client.create_logged_model(experiment_id).name  # a generated name
    client.delete_logged_model(model.model_id)
    with pytest.raises(NotFound, match=model.model_id):
        client.get_logged_model(model.model_id)
    assert client.get_logged_model(model.model_id, allow_deleted=True).lifecycle_stage == "deleted"


def test_bad_input_and_unknown_ids(client: Any, experiment_id: str) -> None:
    with pytest.raises(InvalidInput, match="a/b"):
        client.create_logged_model(experiment_id, "a/b")
    with pytest.raises(NotFound):
        client.create_logged_model("987654321")
    with pytest.raises(NotFound):
        client.get_logged_model("m-" + "0" * 32)
    with pytest.raises(NotFound):
        client.set_logged_model_tags("m-" + "0" * 32, {"a": "1"})
    model = client.create_logged_model(experiment_id, "m")
    with pytest.raises(NotFound, match="nope"):
        client.delete_logged_model_tag(model.model_id, "nope")
    with pytest.raises(InvalidInput):
        client.search_logged_models([experiment_id], "foo = 'x'")
    with pytest.raises(InvalidInput):
        client.search_logged_models([experiment_id], page_token="garbage")


def test_tags_and_params(client: Any, experiment_id: str) -> None:
    model = client.create_logged_model(experiment_id, "m", params={"a": "1"})
    client.set_logged_model_tags(model.model_id, {"x": "1", "y": "2"})
    client.set_logged_model_tags(model.model_id, {"x": "3"})
    client.delete_logged_model_tag(model.model_id, "y")
    client.log_model_params(model.model_id, {"b": "2", "a": "1"})
    with pytest.raises(InvalidInput, match="changing param"):
        client.log_model_params(model.model_id, {"a": "9"})
    got = client.get_logged_model(model.model_id)
    assert got.tags == {"x": "3"} and got.params == {"a": "1", "b": "2"}


def test_metrics_outputs_and_inputs(client: Any, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    model = client.create_logged_model(experiment_id, "m", run.run_id)
    point = Metric("acc", 0.5, 1000, 2)
    client.log_batch(run.run_id, [point])
    linked = Metric("acc", 0.5, 1000, 2, model_id=model.model_id, dataset_name="eval", dataset_digest="d1")
    client.log_batch(run.run_id, [linked, Metric("nan", math.nan, 1000, 0, model_id=model.model_id)])
    assert [(m.value, m.step) for m in client.get_metric_history(run.run_id, "acc")] == [(0.5, 2)]  # not repeated
    metrics = {m.key: m for m in client.get_logged_model(model.model_id).metrics}
    assert (metrics["acc"].dataset_name, metrics["acc"].dataset_digest, metrics["acc"].run_id) == (
        "eval",
        "d1",
        run.run_id,
    )
    assert math.isnan(metrics["nan"].value)
    with pytest.raises(NotFound):
        client.log_batch(run.run_id, [Metric("x", 1.0, 1, 0, model_id="m-" + "0" * 32)])
    assert "x" not in client.get_run(run.run_id).data.metrics  # nothing half-written
    client.log_outputs(run.run_id, [ModelOutput(model.model_id, 2)])
    client.log_inputs(run.run_id, [], models=[model.model_id])
    fetched = client.get_run(run.run_id)
    assert fetched.outputs.models == [ModelOutput(model.model_id, 2)]
    assert fetched.inputs.model_ids == [model.model_id]


def test_search_filter_order_and_pages(client: Any, experiment_id: str) -> None:
    run = client.create_run(experiment_id)
    # Creation times are milliseconds: models made within one would tie (then model_id orders them).
    a = client.create_logged_model(experiment_id, "alpha", run.run_id, params={"C": "1"})
    time.sleep(0.005)
    b = client.create_logged_model(experiment_id, "beta", tags={"stage": "prod"})
    time.sleep(0.005)
    c = client.create_logged_model(experiment_id, "gamma")
    client.finalize_logged_model(c.model_id, "READY")
    client.log_batch(
        run.run_id,
        [
            Metric("acc", 0.7, 1000, 0, model_id=a.model_id, dataset_name="eval"),
            Metric("acc", 0.9, 1000, 0, model_id=b.model_id, dataset_name="test"),
        ],
    )

    def names(**kwargs: Any) -> list[str]:
        return [m.name for m in client.search_logged_models([experiment_id], **kwargs)]

    assert names() == ["gamma", "beta", "alpha"]  # newest first
    assert names(filter_string="name LIKE '%a' AND params.C = '1'") == ["alpha"]
    assert names(filter_string="tags.stage = 'prod'") == ["beta"]
    assert names(filter_string="metrics.acc > 0.8") == ["beta"]
    assert names(filter_string="status = 'READY'") == ["gamma"]
    assert names(filter_string=f"source_run_id = '{run.run_id}'") == ["alpha"]
    assert names(datasets=[DatasetFilter("eval")]) == ["alpha"]
    assert names(order_by=[LoggedModelOrder("metrics.acc", ascending=False)]) == ["beta", "alpha", "gamma"]
    assert names(order_by=[{"field_name": "name", "ascending": True}]) == ["alpha", "beta", "gamma"]
    first = client.search_logged_models([experiment_id], max_results=2)
    second = client.search_logged_models([experiment_id], max_results=2, page_token=first.next_page_token)
    assert [m.name for m in first] + [m.name for m in second] == ["gamma", "beta", "alpha"]
    assert second.next_page_token is None
    with pytest.raises(InvalidInput, match="page token"):
        client.search_logged_models([experiment_id], "name = 'alpha'", page_token=first.next_page_token)
    client.delete_logged_model(b.model_id)
    assert names() == ["gamma", "alpha"]


def test_model_artifacts_round_trip(client: Any, experiment_id: str, tmp_path: Any) -> None:
    model = client.create_logged_model(experiment_id, f"files-{uuid.uuid4().hex[:6]}")
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "w.bin").write_bytes(b"123")
    client.log_model_artifacts(model.model_id, tmp_path)
    local = client.download_logged_model_artifacts(model.model_id, dst_path=str(tmp_path / "out"))
    assert (tmp_path / "out" / "sub" / "w.bin").read_bytes() == b"123" and local
