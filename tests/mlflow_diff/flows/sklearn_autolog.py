"""User code, unchanged between servers: ``mlflow.sklearn.autolog()`` and a fit; then the run,
its logged model (MLflow 3 LoggedModel) with its signature, and the model's predictions.

    python sklearn_autolog.py EXPERIMENT    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

experiment = sys.argv[1]
X, y = load_iris(return_X_y=True, as_frame=True)
mlflow.set_experiment(experiment)
mlflow.sklearn.autolog()
with mlflow.start_run() as run:
    model = LogisticRegression(max_iter=300, C=0.5).fit(X, y)

client = MlflowClient()
after = client.get_run(run.info.run_id)
models = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
logged = models[0]
model_info = mlflow.models.get_model_info(f"models:/{logged.model_id}")
loaded = mlflow.pyfunc.load_model(f"models:/{logged.model_id}")
by_run = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
print(
    json.dumps(
        {
            "status": after.info.status,
            "params": {k: after.data.params[k] for k in ("C", "max_iter", "solver") if k in after.data.params},
            "param_keys": sorted(after.data.params),
            "metrics": {k: round(v, 6) for k, v in sorted(after.data.metrics.items())},
            "tag_keys": sorted(k for k in after.data.tags if not k.startswith("mlflow.source.git")),
            "run_artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
            "models": [(m.name, str(m.status), m.source_run_id == run.info.run_id) for m in models],
            "model_params": sorted(logged.params),
            "model_metrics": sorted((m.key, round(m.value, 6)) for m in logged.metrics),
            "run_outputs": [o.model_id == logged.model_id for o in after.outputs.model_outputs],
            "signature": model_info.signature.to_dict() if model_info.signature else None,
            "predictions_match": loaded.predict(X[:10]).tolist() == model.predict(X[:10]).tolist(),
            "runs_uri_loads": by_run.predict(X[:10]).tolist() == model.predict(X[:10]).tolist(),
        }
    )
)
