"""log_model into a run's artifacts, model URIs, and registration, on every tracking backend."""

from __future__ import annotations

import json
import uuid
from typing import Any

import numpy as np
import pytest

import trackflow.pyfunc
import trackflow.sklearn
from trackflow.errors import InvalidInput, NotFound
from trackflow.models.uri import parse_models_uri


def test_log_model_and_load_by_every_uri(fluent: Any, iris: Any, tmp_path: Any) -> None:
    X, _, est = iris
    name = f"iris-{uuid.uuid4().hex[:8]}"
    with fluent.start_run() as run:
        info = trackflow.sklearn.log_model(est, name="model", input_example=X[:2], registered_model_name=name)
    run_id = run.info.run_id
    # MLflow 3: a logged model of its own, produced by the run, its files at its own location.
    assert info.model_id and info.model_id.startswith("m-") and len(info.model_id) == 34
    assert info.model_uri == f"models:/{info.model_id}" and info.registered_model_version == 1
    client = fluent.get_client()
    model = client.get_logged_model(info.model_id)
    assert model.name == "model" and model.source_run_id == run_id and model.status == "READY"
    assert model.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    assert info.artifact_path == model.artifact_location
    listed = {f.path for f in client.artifact_repository_at(model.artifact_location).list_artifacts()}
    assert {"MLmodel", "model.pkl", "input_example.json"} <= listed
    assert client.list_artifacts(run_id) == []  # nothing under the run itself, as in MLflow 3
    assert [o.model_id for o in client.get_run(run_id).outputs.models] == [info.model_id]
    history = json.loads(client.get_run(run_id).data.tags["mlflow.log-model.history"])
    assert history[-1]["artifact_path"] == "model" and history[-1]["model_id"] == info.model_id

    from trackflow.registry.client import RegistryClient

    RegistryClient(client.tracking_uri).set_registered_model_alias(name, "champion", 1)
    expected = est.predict(X[:4])
    uris = (
        info.model_uri,
        f"runs:/{run_id}/model",
        f"models:/{name}/1",
        f"models:/{name}@champion",
        f"models:/{name}/latest",
    )
    for uri in uris:
        loaded = trackflow.pyfunc.load_model(uri)
        np.testing.assert_array_equal(loaded.predict(X[:4]), expected)
        assert loaded.metadata.run_id == run_id
    np.testing.assert_array_equal(trackflow.sklearn.load_model(f"models:/{name}@champion").predict(X[:4]), expected)
    with pytest.raises(NotFound, match="no alias 'nope'"):
        trackflow.pyfunc.load_model(f"models:/{name}@nope")


def test_log_model_starts_a_run_when_none_is_active(fluent: Any, iris: Any) -> None:
    info = trackflow.sklearn.log_model(iris[2], name="m")
    assert fluent.active_run() is not None and fluent.active_run().info.run_id == info.run_id
    fluent.end_run()


def test_models_uri_grammar() -> None:
    assert parse_models_uri("models:/iris/3").version == "3"
    assert parse_models_uri("models:/iris@champion").alias == "champion"
    assert parse_models_uri("models:/iris/latest").latest
    for bad in ("models:/", "models:/iris", "models:/iris/Production", "models:/@x"):
        with pytest.raises(InvalidInput):
            parse_models_uri(bad)
