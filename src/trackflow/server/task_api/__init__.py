"""The task API: task processes report their try to the server (see routes.py)."""
