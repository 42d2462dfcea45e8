"""The `trackflow` command line."""
