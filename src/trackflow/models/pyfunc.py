"""The generic python_function view of every model, and user-code models (``PythonModel``).

``load_model(uri)`` reads the manifest, picks the loader named by the python_function
flavor's ``loader_module`` and wraps it in :class:`PyFuncModel`, whose ``predict`` takes a
DataFrame, ndarray, dict or list, enforces the signature and calls the flavor.
MLflow's loader modules (``mlflow.sklearn``, ``mlflow.pyfunc.model``, ``mlflow.pytorch``) are
served by trackflow's own flavors, so MLflow models load without MLflow installed (except
user classes pickled from ``mlflow.pyfunc.PythonModel``, which need mlflow to unpickle).
"""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from trackflow.errors import InvalidInput
from trackflow.models.format import (
    PYFUNC_FLAVOR,
    Model,
    load_input_example,
    pinned_requirements,
    prepare_model_dir,
    pyfunc_flavor_conf,
    write_environment,
)
from trackflow.models.signature import (
    ArrayPlan,
    ModelSignature,
    PositionalRows,
    enforce_params,
    enforce_schema,
    infer_signature,
)

PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_DIR = "artifacts"
CUSTOM_LOADER = "trackflow.pyfunc"

# loader_module written in MLmodel -> the trackflow module that loads it.
LOADERS: dict[str, str] = {
    "mlflow.sklearn": "trackflow.models.flavors.sklearn",
    "trackflow.sklearn": "trackflow.models.flavors.sklearn",
    "mlflow.pytorch": "trackflow.models.flavors.pytorch",
    "trackflow.pytorch": "trackflow.models.flavors.pytorch",
    "mlflow.pyfunc.model": "trackflow.models.pyfunc",
    CUSTOM_LOADER: "trackflow.models.pyfunc",
}


class PyfuncImpl(Protocol):
    """What a flavor hands back for generic loading."""

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any: ...


class PyFuncModel:
    """A loaded model with MLflow's pyfunc interface."""

    def __init__(self, impl: PyfuncImpl, metadata: Model, model_dir: Path) -> None:
        self._impl = impl
        self.metadata = metadata
        self.model_dir = model_dir
        signature = metadata.signature
        self._input_schema = signature.inputs if signature else None
        self._param_specs = signature.params if signature else None
        # Flavors that take numeric rows as a plain array offer array_columns + predict_array;
        # the scoring server then builds no DataFrame for such requests (see ArrayPlan).
        columns = getattr(impl, "array_columns", None)
        self._predict_array = getattr(impl, "predict_array", None)
        self.array_plan: ArrayPlan | None = (
            ArrayPlan.for_model(self._input_schema, columns) if columns and self._predict_array else None
        )

    @property
    def loader_module(self) -> str:
        return str(self.metadata.pyfunc_conf.get("loader_module"))

    @property
    def input_example(self) -> Any:
        return load_input_example(self.model_dir, self.metadata)

    def prepare_input(self, data: Any) -> Any:
        """Validate and convert input against the signature (InvalidInput names the problem)."""
        if self._input_schema is not None:
            return enforce_schema(self._input_schema, data)
        return data

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.predict_prepared(self.prepare_input(data), params)

    def predict_prepared(self, prepared: Any, params: dict[str, Any] | None = None) -> Any:
        """Predict on input already passed through :meth:`prepare_input`."""
        return self._impl.predict(prepared, enforce_params(self._param_specs, params))

    def predict_rows(self, rows: PositionalRows, params: dict[str, Any] | None = None) -> Any:
        """Predict on rows made by ``self.array_plan`` (already conforming to the signature)."""
        if self._predict_array is None or self.array_plan is None or rows.columns != self.array_plan.columns:
            return self.predict(rows.to_frame(), params)
        return self._predict_array(rows.array, enforce_params(self._param_specs, params))

    def unwrap_python_model(self) -> Any:
        """The user's PythonModel instance (custom models only)."""
        model = getattr(self._impl, "python_model", None)
        if model is None:
            raise InvalidInput(f"model loaded by {self.loader_module!r} is not a custom python model")
        return model

    def get_raw_model(self) -> Any:
        """The underlying flavor object (sklearn estimator, torch module, PythonModel)."""
        return getattr(self._impl, "raw_model", getattr(self._impl, "python_model", self._impl))

    def __repr__(self) -> str:
        return f"PyFuncModel(loader_module={self.loader_module!r}, run_id={self.metadata.run_id!r})"


def load_local(model_dir: str | os.PathLike[str]) -> PyFuncModel:
    """Load a model directory on this machine as a PyFuncModel."""
    path = Path(model_dir)
    model = Model.load(path)
    conf = model.pyfunc_conf
    loader = str(conf.get("loader_module") or "")
    module_name = LOADERS.get(loader, loader)
    if not module_name:
        raise InvalidInput(f"model at {str(path)!r} names no loader_module in its {PYFUNC_FLAVOR} flavor")
    for code_dir in _code_paths(path, conf):
        import sys

        if code_dir not in sys.path:
            sys.path.insert(0, code_dir)
    if module_name.startswith("trackflow."):
        module = importlib.import_module(module_name)
        impl = module.load_pyfunc_impl(path, model)
    else:
        # A flavor trackflow does not implement (e.g. mlflow.xgboost): use its own loader.
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise InvalidInput(
                f"model at {str(path)!r} needs loader module {loader!r}, which is not installed"
            ) from None
        data = conf.get("data") or conf.get("model_path")
        impl = _ForeignImpl(module._load_pyfunc(str(path / data) if data else str(path)))
    return PyFuncModel(impl, model, path)


def _code_paths(model_dir: Path, conf: dict[str, Any]) -> list[str]:
    code = conf.get("code")
    return [str(model_dir / code)] if code else []


class _ForeignImpl:
    def __init__(self, impl: Any) -> None:
        self.raw_model = impl
        self._takes_params = "params" in inspect.signature(impl.predict).parameters

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        return self.raw_model.predict(data, params=params) if self._takes_params else self.raw_model.predict(data)


# User-code models -----------------------------------------------------------------------------


@dataclass
class PythonModelContext:
    """Handed to ``PythonModel.load_context``: local paths of the declared artifacts."""

    artifacts: dict[str, str] = field(default_factory=dict)
    model_config: dict[str, Any] = field(default_factory=dict)


class PythonModel:
    """Base class for models written as Python code (same contract as mlflow.pyfunc.PythonModel).

    ``load_context`` runs once at load time; ``predict(context, model_input, params=None)``
    answers each call.
    """

    def load_context(self, context: PythonModelContext) -> None:
        """Load artifacts (``context.artifacts[name]`` is a local path)."""

    def predict(self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError


class _PythonModelImpl:
    def __init__(self, python_model: Any, context: Any) -> None:
        self.python_model = python_model
        self.context = context
        parameters = list(inspect.signature(python_model.predict).parameters)
        self._with_context = bool(parameters) and parameters[0] == "context"
        self._with_params = "params" in parameters

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        args = (self.context, data) if self._with_context else (data,)
        if self._with_params:
            return self.python_model.predict(*args, params=params)
        return self.python_model.predict(*args)


def load_pyfunc_impl(model_dir: Path, model: Model) -> _PythonModelImpl:
    import cloudpickle

    conf = model.pyfunc_conf
    pickled = conf.get("python_model")
    if not pickled:
        raise InvalidInput(f"custom model at {str(model_dir)!r} names no python_model file")
    with open(model_dir / pickled, "rb") as fh:
        python_model = cloudpickle.load(fh)
    artifacts = {name: str(model_dir / info["path"]) for name, info in (conf.get("artifacts") or {}).items()}
    config = conf.get("config") or {}
    if _is_mlflow_python_model(python_model):
        from mlflow.pyfunc import PythonModelContext as MlflowContext  # the user's class expects mlflow's

        context: Any = MlflowContext(artifacts=artifacts, model_config=config)
    else:
        context = PythonModelContext(artifacts=artifacts, model_config=config)
    if callable(getattr(python_model, "load_context", None)):
        python_model.load_context(context)
    return _PythonModelImpl(python_model, context)


def _is_mlflow_python_model(python_model: Any) -> bool:
    return any(c.__module__.startswith("mlflow.") for c in type(python_model).__mro__)


def save_model(
    path: str | os.PathLike[str],
    python_model: Any,
    artifacts: dict[str, str] | None = None,
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    code_paths: list[str] | None = None,
    _mlmodel: Model | None = None,
) -> Model:
    """Save a user-code model: ``python_model`` is pickled with cloudpickle, each artifact
    (name -> local file or directory) is copied under ``artifacts/``."""
    import cloudpickle

    if not callable(getattr(python_model, "predict", None)):
        raise InvalidInput(f"python_model {type(python_model).__name__} has no predict method")
    model_dir = prepare_model_dir(path)
    with open(model_dir / PYTHON_MODEL_FILE, "wb") as fh:
        cloudpickle.dump(python_model, fh)
    declared: dict[str, dict[str, str]] = {}
    for name, source in (artifacts or {}).items():
        src = Path(source)
        if not src.exists():
            raise InvalidInput(f"artifact {name!r} points to {source!r}, which does not exist")
        rel = f"{ARTIFACTS_DIR}/{src.name}"
        (model_dir / ARTIFACTS_DIR).mkdir(exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, model_dir / rel)
        else:
            shutil.copy2(src, model_dir / rel)
        declared[name] = {"path": rel, "uri": str(source)}
    code_rel = _copy_code(model_dir, code_paths)
    requirements = pip_requirements or pinned_requirements(["cloudpickle", "numpy", "pandas"])
    requirements = requirements + list(extra_pip_requirements or [])
    loader = "mlflow.pyfunc.model" if _is_mlflow_python_model(python_model) else CUSTOM_LOADER
    mlmodel = _mlmodel or Model()
    env = write_environment(model_dir, requirements)
    extra: dict[str, Any] = {"python_model": PYTHON_MODEL_FILE, "code": code_rel}
    if declared:
        extra["artifacts"] = declared
    if model_config:
        extra["config"] = model_config
    cp_version = pinned_requirements(["cloudpickle"])
    if cp_version:
        extra["cloudpickle_version"] = cp_version[0].split("==")[1]
    mlmodel.add_flavor(PYFUNC_FLAVOR, **pyfunc_flavor_conf(loader, env, **extra))
    mlmodel.metadata = metadata

    def predict_example(example: Any) -> Any:
        return load_local_unsaved(model_dir, mlmodel).predict(example)

    finish_model_dir(model_dir, mlmodel, input_example, signature, predict_example)
    return mlmodel


def load_local_unsaved(model_dir: Path, mlmodel: Model) -> PyFuncModel:
    """Load a model being saved (its MLmodel not yet written) to compute an output signature."""
    mlmodel.save(model_dir)
    return load_local(model_dir)


def _copy_code(model_dir: Path, code_paths: list[str] | None) -> str | None:
    if not code_paths:
        return None
    (model_dir / "code").mkdir()
    for code in code_paths:
        src = Path(code)
        if src.is_dir():
            shutil.copytree(src, model_dir / "code" / src.name)
        else:
            shutil.copy2(src, model_dir / "code" / src.name)
    return "code"


def finish_model_dir(
    model_dir: Path,
    mlmodel: Model,
    input_example: Any,
    signature: ModelSignature | None | bool,
    predict: Any = None,
) -> None:
    """Save the input example, infer the signature from it when none was given, write MLmodel.

    ``signature=False`` means "no signature". Output inference is best effort: a model that
    fails on its own example still saves, with an inputs-only signature.
    """
    from trackflow.models.format import save_input_example

    if input_example is not None:
        mlmodel.saved_input_example_info = save_input_example(model_dir, input_example)
    if isinstance(signature, ModelSignature):
        mlmodel.signature = signature
    elif signature is None and input_example is not None:
        output = None
        if predict is not None:
            try:
                output = predict(input_example)
            except Exception:  # noqa: BLE001 - inference is optional; the model still saves
                output = None
        mlmodel.signature = infer_signature(input_example, output)
    mlmodel.extra["model_size_bytes"] = sum(f.stat().st_size for f in model_dir.rglob("*") if f.is_file())
    mlmodel.save(model_dir)


def load_model(model_uri: str | os.PathLike[str], dst_path: str | None = None) -> PyFuncModel:
    """Any model (a local path, ``runs:/``, ``models:/``) as a generic PyFuncModel."""
    from trackflow.models.uri import download_model

    return load_local(download_model(model_uri, dst_path))


def log_model(
    python_model: Any,
    name: str = "model",
    artifacts: dict[str, str] | None = None,
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    registered_model_name: str | None = None,
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    code_paths: list[str] | None = None,
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> Any:
    """Log a user-code model to the run's artifacts at ``<name>/``; returns a ModelInfo."""
    from trackflow.models.log_model import log_model as _log

    def save(path: str, mlmodel: Model) -> Model:
        return save_model(
            path,
            python_model,
            artifacts=artifacts,
            input_example=input_example,
            signature=signature,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            model_config=model_config,
            code_paths=code_paths,
            _mlmodel=mlmodel,
        )

    return _log(save, artifact_path or name, registered_model_name=registered_model_name, run_id=run_id)


def mlflow_load_pyfunc(path: str) -> _PythonModelImpl:
    """Entry point MLflow calls (``loader_module: trackflow.pyfunc``) to load a trackflow custom model."""
    model_dir = Path(path)
    if model_dir.is_file():
        model_dir = model_dir.parent
    return load_pyfunc_impl(model_dir, Model.load(model_dir))
