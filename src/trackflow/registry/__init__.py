"""The model registry: registered models, versions, aliases, lineage and the change-event log."""
