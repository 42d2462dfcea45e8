"""The pytorch flavor, written as ``mlflow.pytorch`` writes its pickle format.

``data/model.pth`` is ``torch.save(model, pickle_module=cloudpickle)`` and
``data/pickle_module_info.txt`` names the pickle module, so ``mlflow.pytorch`` loads trackflow
models and trackflow loads MLflow's. torch is optional (``pip install trackflow[pytorch]``)
and imported only here. Models load on the CPU unless a device is given.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trackflow.errors import InvalidInput
from trackflow.models.format import (
    PYFUNC_FLAVOR,
    Model,
    pinned_requirement,
    pinned_requirements,
    prepare_model_dir,
    pyfunc_flavor_conf,
    write_environment,
)
from trackflow.models.pyfunc import finish_model_dir
from trackflow.models.signature import ModelSignature

FLAVOR_NAME = "pytorch"
DATA_DIR = "data"
MODEL_FILE = "model.pth"
PICKLE_INFO_FILE = "pickle_module_info.txt"
MLFLOW_PICKLE_MODULE = "mlflow.pytorch.pickle_module"


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise InvalidInput("the pytorch flavor needs torch: pip install 'trackflow[pytorch]'") from None
    return torch


def save_model(
    pytorch_model: Any,
    path: str | os.PathLike[str],
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    _mlmodel: Model | None = None,
) -> Model:
    """Save a ``torch.nn.Module`` (whole-module pickle) as a model directory at ``path``."""
    torch = _torch()
    import cloudpickle

    if not isinstance(pytorch_model, torch.nn.Module):
        raise InvalidInput(f"pytorch_model must be a torch.nn.Module, got {type(pytorch_model).__name__}")
    model_dir = prepare_model_dir(path)
    (model_dir / DATA_DIR).mkdir()
    torch.save(pytorch_model, model_dir / DATA_DIR / MODEL_FILE, pickle_module=cloudpickle)
    # MLflow's own name for "cloudpickle to save, pickle to load"; trackflow reads it without mlflow
    (model_dir / DATA_DIR / PICKLE_INFO_FILE).write_text(MLFLOW_PICKLE_MODULE)
    requirements = (pip_requirements or pinned_requirements(["torch", "cloudpickle", "numpy"])) + list(
        extra_pip_requirements or []
    )
    env = write_environment(model_dir, requirements)
    mlmodel = _mlmodel or Model()
    mlmodel.metadata = metadata
    mlmodel.add_flavor(
        PYFUNC_FLAVOR,
        **pyfunc_flavor_conf(
            "mlflow.pytorch", env, data=DATA_DIR, pickle_module_name=MLFLOW_PICKLE_MODULE, config={"device": None}
        ),
    )
    torch_version = pinned_requirement("torch")
    mlmodel.add_flavor(
        FLAVOR_NAME,
        model_data=DATA_DIR,
        pytorch_version=torch_version.split("==")[1] if torch_version else None,
        code=None,
    )
    impl = TorchPyfunc(pytorch_model)
    finish_model_dir(model_dir, mlmodel, input_example, signature, impl.predict)
    return mlmodel


def _load_module(model_dir: Path, model: Model, device: str | None = None) -> Any:
    torch = _torch()
    data = (model.flavors.get(FLAVOR_NAME) or {}).get("model_data") or DATA_DIR
    data_dir = model_dir / data
    info = data_dir / PICKLE_INFO_FILE
    if not (data_dir / MODEL_FILE).is_file():
        raise InvalidInput(
            f"pytorch model at {str(model_dir)!r} has no {data}/{MODEL_FILE} (only the pickle format is supported)"
        )
    name = info.read_text().strip() if info.is_file() else "pickle"
    if name in (MLFLOW_PICKLE_MODULE, "cloudpickle"):
        import cloudpickle  # noqa: F401 - by-value pickles reference it; stdlib pickle does the loading

        name = "pickle"
    pickle_module = importlib.import_module(name)
    return torch.load(
        data_dir / MODEL_FILE, pickle_module=pickle_module, weights_only=False, map_location=device or "cpu"
    )


class TorchPyfunc:
    """Generic predict: DataFrame / ndarray / list -> float tensor -> module -> ndarray."""

    def __init__(self, module: Any, device: str | None = None) -> None:
        self.raw_model = module
        self.device = device or "cpu"

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        torch = _torch()
        if isinstance(data, pd.DataFrame):
            data = data.to_numpy(dtype=np.float32)
        elif isinstance(data, list | tuple):
            data = np.asarray(data)
        if isinstance(data, dict):
            inputs = {k: torch.as_tensor(np.asarray(v)).to(self.device) for k, v in data.items()}
            call = lambda: self.raw_model(**inputs)  # noqa: E731
        elif isinstance(data, np.ndarray):
            array = data.astype(np.float32) if data.dtype == np.float64 else data
            tensor = torch.as_tensor(array).to(self.device)
            call = lambda: self.raw_model(tensor)  # noqa: E731
        else:
            raise InvalidInput(f"pytorch models take a DataFrame, ndarray, list or dict, got {type(data).__name__}")
        self.raw_model.eval()
        with torch.no_grad():
            output = call()
        if isinstance(output, tuple | list):
            output = output[0]
        return output.detach().cpu().numpy() if hasattr(output, "detach") else output


def load_pyfunc_impl(model_dir: Path, model: Model) -> TorchPyfunc:
    device = ((model.flavors.get(PYFUNC_FLAVOR) or {}).get("config") or {}).get("device")
    return TorchPyfunc(_load_module(model_dir, model, device), device)


def load_model(model_uri: str, dst_path: str | None = None, device: str | None = None) -> Any:
    """The ``torch.nn.Module`` itself from a model URI."""
    from trackflow.models.uri import download_flavor

    model_dir, model = download_flavor(model_uri, FLAVOR_NAME, dst_path)
    return _load_module(model_dir, model, device)


def log_model(
    pytorch_model: Any,
    name: str = "model",
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> Any:
    """Save the module under ``<name>/`` in the run's artifacts; returns a ModelInfo."""
    from trackflow.models.log_model import log_model as _log

    def save(path: str, mlmodel: Model) -> Model:
        return save_model(
            pytorch_model,
            path,
            input_example=input_example,
            signature=signature,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            _mlmodel=mlmodel,
        )

    return _log(save, artifact_path or name, registered_model_name=registered_model_name, run_id=run_id)
