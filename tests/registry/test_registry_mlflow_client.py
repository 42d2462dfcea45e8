"""The official mlflow client's registry calls against a real trackflow server."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def mlflow_client(registry_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", registry_server)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    mlflow.set_tracking_uri(registry_server)
    mlflow.set_registry_uri(registry_server)
    return mlflow.MlflowClient(registry_server, registry_server)


def test_registry_calls(mlflow_client: Any) -> None:
    c = mlflow_client
    name = f"mlf-{uuid.uuid4().hex[:8]}"
    exp = c.create_experiment(f"exp-{uuid.uuid4().hex[:8]}")
    run = c.create_run(exp)
    c.create_registered_model(name, tags={"team": "ml"}, description="desc")
    mv = c.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    assert mv.version == "1" and mv.run_id == run.info.run_id
    c.set_registered_model_alias(name, "champion", mv.version)
    by_alias = c.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "1" and "champion" in by_alias.aliases
    assert [m.name for m in c.search_registered_models(f"name = '{name}'")] == [name]
    assert [v.version for v in c.search_model_versions(f"name = '{name}'")] == ["1"]
    c.set_model_version_tag(name, "1", "k", "v")
    c.update_model_version(name, "1", description="updated")
    got = c.get_model_version(name, "1")
    assert got.tags == {"k": "v"} and got.description == "updated"
    model = c.get_registered_model(name)
    assert model.tags == {"team": "ml"} and model.aliases == {"champion": "1"}
    c.delete_registered_model_alias(name, "champion")
    c.delete_model_version(name, "1")
    c.delete_registered_model(name)
    with pytest.raises(mlflow.exceptions.MlflowException, match="RESOURCE_DOES_NOT_EXIST|does not exist"):
        c.get_registered_model(name)


def test_register_model_and_load_by_alias(mlflow_client: Any, registry_server: str, tmp_path: Any, iris) -> None:
    """A model logged with trackflow (remote mode), registered with mlflow.register_model,
    loads with mlflow.pyfunc.load_model('models:/<name>@<alias>') and with trackflow."""
    import trackflow.pyfunc
    import trackflow.sklearn
    from trackflow.tracking import fluent

    X, _, est = iris
    name = f"reg-{uuid.uuid4().hex[:8]}"
    fluent.set_tracking_uri(registry_server)
    try:
        with fluent.start_run() as run:
            trackflow.sklearn.log_model(est, name="model", input_example=X[:2])
        mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
        mlflow_client.set_registered_model_alias(name, "champion", mv.version)
        loaded = mlflow.pyfunc.load_model(f"models:/{name}@champion")
        np.testing.assert_array_equal(loaded.predict(X[:5]), est.predict(X[:5]))
        ours = trackflow.pyfunc.load_model(f"models:/{name}@champion")
        np.testing.assert_array_equal(ours.predict(X[:5]), est.predict(X[:5]))
        assert trackflow.pyfunc.load_model(f"models:/{name}/{mv.version}").metadata.run_id == run.info.run_id
    finally:
        while fluent.active_run() is not None:
            fluent.end_run()
        fluent._state["client"] = None
        fluent.set_tracking_uri("")
