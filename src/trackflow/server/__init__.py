"""The HTTP server: trackflow's /api/v1, MLflow's REST API, the artifact proxy."""
