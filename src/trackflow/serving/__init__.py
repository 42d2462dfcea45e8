"""The scoring server: MLflow's /invocations protocol, health probes, Prometheus metrics, inference log."""
