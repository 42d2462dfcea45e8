"""``trackflow.pyfunc``: every model as a generic predictor, and models written as Python code.

MLflow loads trackflow custom models through ``_load_pyfunc`` (their ``loader_module`` is
``trackflow.pyfunc``).
"""

from trackflow.models.pyfunc import (
    PyFuncModel,
    PythonModel,
    PythonModelContext,
    load_model,
    log_model,
    save_model,
)
from trackflow.models.pyfunc import mlflow_load_pyfunc as _load_pyfunc
from trackflow.models.signature import ModelSignature, infer_signature

__all__ = [
    "ModelSignature",
    "PyFuncModel",
    "PythonModel",
    "PythonModelContext",
    "_load_pyfunc",
    "infer_signature",
    "load_model",
    "log_model",
    "save_model",
]
