"""trackflow's own REST API, mounted at /api/v1."""
