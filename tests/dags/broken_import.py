"""A DAG file that fails to import."""
from trackflow import dag  # noqa: F401

import module_that_does_not_exist  # noqa: F401
