"""The model directory: an ``MLmodel`` YAML manifest beside the flavor's files.

The layout is MLflow's, key for key, so MLflow models load in trackflow and trackflow
models load with ``mlflow.pyfunc.load_model``::

    model/
      MLmodel                     flavors, signature, run_id, model_uuid, utc_time_created
      model.pkl                   (flavor files)
      input_example.json          the example, as MLflow writes it (pandas "split" or a list)
      serving_input_example.json  the same example as a scoring-server payload
      requirements.txt, python_env.yaml, conda.yaml
"""

from __future__ import annotations

import json
import os
import platform
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import yaml

from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.models.signature import ModelSignature

MLMODEL_FILE = "MLmodel"
PYFUNC_FLAVOR = "python_function"
INPUT_EXAMPLE_FILE = "input_example.json"
SERVING_INPUT_EXAMPLE_FILE = "serving_input_example.json"
REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_ENV_FILE = "conda.yaml"


def trackflow_version() -> str:
    try:
        return importlib_metadata.version("trackflow")
    except importlib_metadata.PackageNotFoundError:
        return "0.0.0"


@dataclass
class Model:
    """The parsed ``MLmodel`` manifest. Unknown keys written by other tools are kept in ``extra``."""

    flavors: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_id: str | None = None
    artifact_path: str | None = None
    model_uuid: str = field(default_factory=lambda: uuid.uuid4().hex)
    utc_time_created: str = field(default_factory=lambda: str(datetime.now(UTC).replace(tzinfo=None)))
    signature: ModelSignature | None = None
    saved_input_example_info: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    mlflow_version: str | None = None
    model_id: str | None = None  # the logged model (MLflow 3) whose artifacts this is
    extra: dict[str, Any] = field(default_factory=dict)

    def add_flavor(self, name: str, **params: Any) -> None:
        self.flavors[name] = params

    @property
    def pyfunc_conf(self) -> dict[str, Any]:
        conf = self.flavors.get(PYFUNC_FLAVOR)
        if conf is None:
            raise InvalidInput(
                f"model has no {PYFUNC_FLAVOR!r} flavor (flavors: {sorted(self.flavors)}); it cannot load as pyfunc"
            )
        return conf

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        out.update(
            {
                "artifact_path": self.artifact_path,
                "flavors": self.flavors,
                "mlflow_version": self.mlflow_version,
                "model_id": self.model_id,
                "model_uuid": self.model_uuid,
                "run_id": self.run_id,
                "utc_time_created": self.utc_time_created,
                "trackflow_version": trackflow_version(),
            }
        )
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return {k: v for k, v in out.items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        data = dict(data)
        signature = data.pop("signature", None)
        known = {
            "flavors",
            "run_id",
            "artifact_path",
            "model_uuid",
            "utc_time_created",
            "saved_input_example_info",
            "metadata",
            "mlflow_version",
            "model_id",
        }
        kwargs = {k: data.pop(k) for k in list(data) if k in known}
        kwargs["flavors"] = kwargs.get("flavors") or {}
        kwargs["model_uuid"] = kwargs.get("model_uuid") or uuid.uuid4().hex
        kwargs["utc_time_created"] = str(kwargs.get("utc_time_created") or "")
        data.pop("trackflow_version", None)
        return cls(
            signature=ModelSignature.from_dict(signature) if isinstance(signature, dict) else None,
            extra=data,
            **kwargs,
        )

    def save(self, model_dir: str | os.PathLike[str]) -> None:
        with open(Path(model_dir) / MLMODEL_FILE, "w") as fh:
            yaml.safe_dump(self.to_dict(), fh, default_flow_style=False, sort_keys=True)

    @classmethod
    def load(cls, model_dir: str | os.PathLike[str]) -> Model:
        path = Path(model_dir)
        if path.is_dir():
            path = path / MLMODEL_FILE
        if not path.is_file():
            raise NotFound(f"no {MLMODEL_FILE} file at {str(path)!r}: not a model directory")
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{str(path)!r} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"{str(path)!r} does not hold a mapping")
        return cls.from_dict(data)


def prepare_model_dir(path: str | os.PathLike[str]) -> Path:
    """Create the directory for a new model; refuse to overwrite a non-empty one."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AlreadyExists(f"model path {str(target)!r} already exists and is not empty")
    target.mkdir(parents=True, exist_ok=True)
    return target


# Requirements ------------------------------------------------------------------------------


def pinned_requirement(distribution: str) -> str | None:
    """``name==version`` for an installed distribution, or None if it is not installed."""
    try:
        version = importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None
    # local versions (+cpu) are not resolvable on PyPI
    return f"{distribution}=={version.split('+')[0]}"


def pinned_requirements(distributions: list[str]) -> list[str]:
    return [req for req in (pinned_requirement(d) for d in distributions) if req]


def write_environment(model_dir: Path, requirements: list[str]) -> dict[str, str]:
    """Write requirements.txt, python_env.yaml and conda.yaml; return the pyfunc ``env`` entry."""
    python_version = platform.python_version()
    (model_dir / REQUIREMENTS_FILE).write_text("\n".join(requirements) + "\n")
    python_env = {
        "python": python_version,
        "build_dependencies": pinned_requirements(["pip", "setuptools", "wheel"]) or ["pip"],
        "dependencies": [f"-r {REQUIREMENTS_FILE}"],
    }
    (model_dir / PYTHON_ENV_FILE).write_text(yaml.safe_dump(python_env, sort_keys=False))
    conda = {
        "name": "trackflow-env",
        "channels": ["conda-forge"],
        "dependencies": [f"python={python_version}", "pip", {"pip": requirements}],
    }
    (model_dir / CONDA_ENV_FILE).write_text(yaml.safe_dump(conda, sort_keys=False))
    return {"conda": CONDA_ENV_FILE, "virtualenv": PYTHON_ENV_FILE}


def pyfunc_flavor_conf(loader_module: str, env: dict[str, str], **params: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"loader_module": loader_module, "python_version": platform.python_version(), "env": env}
    conf.update(params)
    return conf


# Input examples ----------------------------------------------------------------------------


def save_input_example(model_dir: Path, example: Any) -> dict[str, Any]:
    """Write the example as MLflow does and return ``saved_input_example_info``."""
    import numpy as np
    import pandas as pd

    info: dict[str, Any] = {"artifact_path": INPUT_EXAMPLE_FILE, "serving_input_path": SERVING_INPUT_EXAMPLE_FILE}
    if isinstance(example, dict) and not all(isinstance(v, np.ndarray) for v in example.values()):
        example = pd.DataFrame([example]) if all(np.isscalar(v) for v in example.values()) else pd.DataFrame(example)
    if isinstance(example, pd.Series):
        example = example.to_frame()
    if isinstance(example, pd.DataFrame):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        split.pop("index", None)
        payload: dict[str, Any] = {"columns": split["columns"], "data": split["data"]}
        info.update(type="dataframe", pandas_orient="split")
        serving: dict[str, Any] = {"dataframe_split": payload}
    elif isinstance(example, np.ndarray):
        payload = example.tolist()  # type: ignore[assignment]
        info["type"] = "ndarray"
        serving = {"inputs": payload}
    elif isinstance(example, dict):
        payload = {k: np.asarray(v).tolist() for k, v in example.items()}
        info["type"] = "ndarray"
        serving = {"inputs": payload}
    elif isinstance(example, list):
        payload = example  # type: ignore[assignment]
        info["type"] = "json_object"
        serving = {"inputs": payload}
    else:
        raise InvalidInput(f"unsupported input example type {type(example).__name__}")
    (model_dir / INPUT_EXAMPLE_FILE).write_text(json.dumps(payload))
    (model_dir / SERVING_INPUT_EXAMPLE_FILE).write_text(json.dumps(serving, indent=2))
    return info


def load_input_example(model_dir: str | os.PathLike[str], model: Model | None = None) -> Any:
    """The saved example as a DataFrame, ndarray or list (None when the model has none)."""
    import numpy as np
    import pandas as pd

    model = model or Model.load(model_dir)
    info = model.saved_input_example_info
    if not info:
        return None
    data = json.loads((Path(model_dir) / info.get("artifact_path", INPUT_EXAMPLE_FILE)).read_text())
    if info.get("type") == "dataframe":
        if info.get("pandas_orient", "split") == "records":
            return pd.DataFrame.from_records(data)
        return pd.DataFrame(data["data"], columns=data["columns"])
    if info.get("type") == "ndarray":
        if isinstance(data, dict) and "inputs" in data:
            data = data["inputs"]
        if isinstance(data, dict):
            return {k: np.asarray(v) for k, v in data.items()}
        return np.asarray(data)
    return data
