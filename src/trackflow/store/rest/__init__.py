"""The REST store: the TrackingStore protocol over trackflow's /api/v1."""

from trackflow.store.rest.tracking_store import RestTrackingStore

__all__ = ["RestTrackingStore"]
