"""Automatic logging for training libraries (it sits above models: it logs models)."""
