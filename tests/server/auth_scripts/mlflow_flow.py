"""Run by the real MLflow client (the peer's python) against a server with auth on; the
credentials come from MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN, as users set
them. Prints one JSON line: what the tracking and registry calls returned, or the error."""
import json
import sys
import uuid

import mlflow
from mlflow import MlflowClient

try:
    name = f"auth-{uuid.uuid4().hex[:8]}"
    mlflow.set_experiment(name)
    with mlflow.start_run() as run:
        mlflow.log_param("lr", 0.1)
        mlflow.log_metric("loss", 0.5, step=1)
    client = MlflowClient()
    found = client.search_runs([run.info.experiment_id], "metrics.loss < 1")
    model = client.create_registered_model(name)
    print(json.dumps({"runs": len(found), "loss": found[0].data.metrics["loss"], "model": model.name}))
except Exception as exc:  # the test reads what the client reported
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    sys.exit(0)
