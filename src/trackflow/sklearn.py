"""``trackflow.sklearn``: save, log and load scikit-learn models in MLflow's format."""

from trackflow.autolog.sklearn import autolog
from trackflow.models.flavors.sklearn import load_model, log_model, save_model

__all__ = ["autolog", "load_model", "log_model", "save_model"]
