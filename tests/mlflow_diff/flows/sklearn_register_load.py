"""User code, unchanged between servers: log an sklearn model with MLflow 3 (``name=``), register
it, load it back by every URI, and look at the LoggedModel, the run and the model version.

    python sklearn_register_load.py EXPERIMENT REGISTERED_MODEL    (MLFLOW_TRACKING_URI set)

Prints one JSON document of what the code observed, with ids replaced by relations."""

import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

experiment, registered = sys.argv[1], sys.argv[2]
X, y = load_iris(return_X_y=True, as_frame=True)
mlflow.set_experiment(experiment)
with mlflow.start_run() as run:
    mlflow.log_param("C", 1.0)
    model = LogisticRegression(max_iter=300).fit(X, y)
    mlflow.log_metric("train_acc", model.score(X, y))
    info = mlflow.sklearn.log_model(model, name="model", input_example=X[:5], registered_model_name=registered)

client = MlflowClient()
client.set_registered_model_alias(registered, "champion", 1)
expected = model.predict(X[:10]).tolist()
uris = {
    "model_uri": info.model_uri,
    "version": f"models:/{registered}/1",
    "alias": f"models:/{registered}@champion",
    "runs": f"runs:/{run.info.run_id}/model",
}
predictions = {label: mlflow.pyfunc.load_model(uri).predict(X[:10]).tolist() == expected for label, uri in uris.items()}
sklearn_model = mlflow.sklearn.load_model(info.model_uri)

logged = mlflow.get_logged_model(info.model_id)
found = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
by_name = mlflow.search_logged_models(
    experiment_ids=[run.info.experiment_id], filter_string="name = 'model'", output_format="list"
)
after = client.get_run(run.info.run_id)
version = client.get_model_version(registered, "1")
local = mlflow.artifacts.download_artifacts(info.model_uri)
signature = mlflow.models.get_model_info(info.model_uri).signature

print(
    json.dumps(
        {
            "model_uri_names_the_model": info.model_uri == f"models:/{info.model_id}",
            "model_id_shape": [info.model_id[:2], len(info.model_id)],
            "registered_version": info.registered_model_version,
            "predictions_match": predictions,
            "sklearn_flavor_loads": type(sklearn_model).__name__,
            "logged_model": {
                "name": logged.name,
                "status": str(logged.status),
                "source_run_is_the_run": logged.source_run_id == run.info.run_id,
                "experiment_is_the_run's": logged.experiment_id == run.info.experiment_id,
                "params": logged.params,
                "metrics": sorted(
                    (m.key, round(m.value, 6), m.step, m.run_id == run.info.run_id) for m in logged.metrics
                ),
                "tag_keys": sorted(logged.tags),
                "model_versions_tag": json.loads(logged.tags.get("mlflow.modelVersions", "[]")),
                "artifact_location_is_the_model's": logged.artifact_location.endswith(
                    f"/models/{info.model_id}/artifacts"
                ),
                "model_info_artifact_path": info.artifact_path == logged.artifact_location,
            },
            "search_all": [(m.name, m.model_id == info.model_id) for m in found],
            "search_by_name": [m.model_id == info.model_id for m in by_name],
            "run_outputs": [(o.model_id == info.model_id, o.step) for o in after.outputs.model_outputs],
            "run_metric_history": [(m.key, m.step) for m in client.get_metric_history(run.info.run_id, "train_acc")],
            "run_artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
            "version": {
                "source_is_the_model_uri": version.source == info.model_uri,
                "run_is_the_run": version.run_id == run.info.run_id,
                "download_uri_is_the_location": client.get_model_version_download_uri(registered, "1")
                == logged.artifact_location,
            },
            "model_files": sorted(os.listdir(local)),
            "signature": signature.to_dict() if signature else None,
        }
    )
)
