"""Experiment tracking: the fluent API, the Client and how a tracking URI becomes a store."""
