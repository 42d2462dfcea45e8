"""Storage: the tracking store interface and its SQL and REST implementations."""
