"""MLflow's REST API (/api/2.0/mlflow/...) and artifact proxy, so the official client works unchanged."""
