"""``trackflow.pytorch``: save, log and load torch modules in MLflow's format (needs torch)."""

from trackflow.models.flavors.pytorch import load_model, log_model, save_model

__all__ = ["load_model", "log_model", "save_model"]
