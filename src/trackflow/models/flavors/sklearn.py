"""The sklearn flavor, written exactly as ``mlflow.sklearn`` writes it.

The manifest's python_function flavor names ``loader_module: mlflow.sklearn``, so MLflow loads
trackflow's sklearn models natively; trackflow maps that loader back to this module. The
estimator is saved with cloudpickle (or pickle), two of the formats mlflow.sklearn reads.

Loading also reads ``skops``, MLflow 3's default sklearn format (``pip install skops``).
skops refuses to build any type outside its allow-list of stock sklearn estimators and numpy
basics. trackflow trusts, on top of that list:

- the types the model's author declared when saving (``skops_trusted_types`` in MLmodel,
  written by ``mlflow.sklearn.save_model(..., skops_trusted_types=[...])``; MLflow trusts
  them the same way);
- classes defined by scikit-learn, numpy or scipy themselves, such as ``sklearn.tree._tree.Tree``
  inside every tree ensemble or ``numpy.dtype``, which skops reports as untrusted although
  building them runs only those libraries' own code. Not trusted even there: classes with a
  finalizer (``__del__``; numpy's ``DataSource`` deletes a directory named in its state) and
  classes in I/O, testing, build or vendored modules (``numpy.lib._datasource``, ``scipy.io``,
  ``numpy.ctypeslib``, ``sklearn.externals``, ``scipy._lib``...);
- what the caller passes as ``load_model(uri, skops_trusted_types=[...])``.

Anything else, notably functions (a ``FunctionTransformer(func=...)``) and classes from other
packages, is refused with an error naming the types, before any object is built.
"""

from __future__ import annotations

import importlib
import os
import pickle
import warnings
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
from trackflow.models.signature import ModelSignature, to_dataframe

FLAVOR_NAME = "sklearn"
MODEL_FILE = "model.pkl"
SERIALIZATION_FORMATS = ("cloudpickle", "pickle")  # what save_model writes
SKOPS = "skops"
LOADABLE_FORMATS = (*SERIALIZATION_FORMATS, SKOPS)
# packages whose own classes are trusted in skops files (see the module docstring) ...
TRUSTED_LIBRARIES = ("sklearn", "numpy", "scipy")
# ... except in modules with one of these names in their dotted path
UNTRUSTED_MODULE_PARTS = frozenset({
    "io", "_datasource", "npyio", "_npyio_impl", "ctypeslib", "_ccallback", "distutils", "f2py",
    "memmap", "testing", "_testing", "tests", "conftest", "externals", "_lib",
})


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    serialization_format: str = "cloudpickle",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    pyfunc_predict_fn: str = "predict",
    _mlmodel: Model | None = None,
) -> Model:
    """Save an estimator as a model directory at ``path`` (which must not exist or be empty).

    Without a ``signature`` one is inferred from ``input_example`` (inputs, and outputs from
    ``sk_model.predict(input_example)``); ``signature=False`` saves none.
    """
    if serialization_format not in SERIALIZATION_FORMATS:
        raise InvalidInput(
            f"serialization_format {serialization_format!r} is not supported; use one of {SERIALIZATION_FORMATS}"
        )
    if not callable(getattr(sk_model, pyfunc_predict_fn, None)):
        raise InvalidInput(f"model {type(sk_model).__name__} has no method {pyfunc_predict_fn!r}")
    model_dir = prepare_model_dir(path)
    with open(model_dir / MODEL_FILE, "wb") as fh:
        if serialization_format == "cloudpickle":
            import cloudpickle

            cloudpickle.dump(sk_model, fh)
        else:
            pickle.dump(sk_model, fh, protocol=pickle.DEFAULT_PROTOCOL)
    wanted = ["scikit-learn", "numpy", "pandas"] + (["cloudpickle"] if serialization_format == "cloudpickle" else [])
    requirements = (pip_requirements or pinned_requirements(wanted)) + list(extra_pip_requirements or [])
    env = write_environment(model_dir, requirements)
    mlmodel = _mlmodel or Model()
    mlmodel.metadata = metadata
    mlmodel.add_flavor(
        PYFUNC_FLAVOR,
        **pyfunc_flavor_conf("mlflow.sklearn", env, model_path=MODEL_FILE, predict_fn=pyfunc_predict_fn),
    )
    sklearn_version = pinned_requirement("scikit-learn")
    mlmodel.add_flavor(
        FLAVOR_NAME,
        pickled_model=MODEL_FILE,
        serialization_format=serialization_format,
        sklearn_version=sklearn_version.split("==")[1] if sklearn_version else None,
        code=None,
    )
    predict = getattr(sk_model, pyfunc_predict_fn)
    finish_model_dir(model_dir, mlmodel, input_example, signature, lambda ex: predict(_as_model_input(ex)))
    return mlmodel


def _as_model_input(data: Any) -> Any:
    """Dicts and record lists become DataFrames, nested lists arrays; the rest passes through."""
    if isinstance(data, dict) or (isinstance(data, list) and data and isinstance(data[0], dict)):
        return to_dataframe(data)
    if isinstance(data, list):
        return np.asarray(data)
    return data


def _load_estimator(model_dir: Path, model: Model, skops_trusted_types: list[str] | None = None) -> Any:
    conf = model.flavors.get(FLAVOR_NAME) or {}
    pyfunc_conf = model.flavors.get(PYFUNC_FLAVOR) or {}
    file_name = conf.get("pickled_model") or pyfunc_conf.get("model_path") or MODEL_FILE
    fmt = conf.get("serialization_format", "pickle")
    if fmt not in LOADABLE_FORMATS:
        raise InvalidInput(
            f"sklearn model at {str(model_dir)!r} uses serialization format {fmt!r}; "
            f"trackflow reads {LOADABLE_FORMATS}"
        )
    if fmt == SKOPS:
        declared = list(conf.get("skops_trusted_types") or []) + list(skops_trusted_types or [])
        return _load_skops(model_dir / file_name, declared)
    with open(model_dir / file_name, "rb") as fh:
        # cloudpickle output is read by pickle once cloudpickle is importable
        if fmt == "cloudpickle":
            import cloudpickle

            return cloudpickle.load(fh)
        return pickle.load(fh)


def _load_skops(path: Path, declared: list[str]) -> Any:
    """Load a skops file, trusting what the module docstring lists and nothing else."""
    try:
        sio = _import_skops_io()
    except ImportError:
        raise InvalidInput(
            f"sklearn model file {str(path)!r} is in the skops format; install skops to load it "
            "(pip install 'trackflow[sklearn]' or pip install skops)"
        ) from None
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file: say which
        raise InvalidInput(f"{str(path)!r} is not a readable skops file: {exc}") from None
    allowed = set(declared)
    refused = sorted(name for name in untrusted if name not in allowed and not _is_library_type(name))
    if refused:
        raise InvalidInput(
            f"skops model {str(path)!r} contains types trackflow does not trust: {refused}; if you trust "
            "this model, pass skops_trusted_types=[...] to trackflow.sklearn.load_model, or save it with "
            "skops_trusted_types listing them"
        )
    return sio.load(path, trusted=list(untrusted))


# sklearn's vendored array-API shim for torch; importing it imports torch (about a second).
_TORCH_SHIM = "sklearn.externals.array_api_compat.torch"


def _import_skops_io() -> Any:
    """``skops.io``, imported without importing torch.

    skops builds its default allow-list with sklearn's ``all_estimators()``, which imports every
    sklearn package on its way, including the torch shim above, so a process that has torch
    installed pays for importing it although no estimator lives there (the allow-list comes out
    identical). While skops is imported, that one module is marked missing (the package walk
    skips modules that fail to import); the mark is removed right after, so sklearn's array API
    support still imports it on demand. When torch is already imported the shim is cheap, and
    nothing is marked.
    """
    import sys

    if "skops.io" in sys.modules or "torch" in sys.modules or _TORCH_SHIM in sys.modules:
        import skops.io

        return skops.io
    sys.modules[_TORCH_SHIM] = None  # type: ignore[assignment]
    try:
        import skops.io

        return skops.io
    finally:
        if sys.modules.get(_TORCH_SHIM, 0) is None:
            del sys.modules[_TORCH_SHIM]


def _is_library_type(name: str) -> bool:
    """True when ``name`` (``module.Qualified.Name``) is a class trusted by the rules of the
    module docstring. Resolving the name imports only modules of TRUSTED_LIBRARIES."""
    parts = name.split(".")
    if parts[0] not in TRUSTED_LIBRARIES or UNTRUSTED_MODULE_PARTS.intersection(parts):
        return False
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return False
        if not isinstance(obj, type):
            return False
        module = obj.__module__.split(".")
        return (
            module[0] in TRUSTED_LIBRARIES
            and not UNTRUSTED_MODULE_PARTS.intersection(module)
            and not any("__del__" in vars(klass) for klass in obj.__mro__)
        )
    return False


_NAME_BASED_MODULES = ("sklearn.compose", "sklearn.pipeline")


def _ignores_column_names(estimator: Any) -> bool:
    """True when the estimator only uses column *positions*: stock sklearn estimators, and
    pipelines made of them, with pandas output off. ColumnTransformers and user classes may
    select columns by name, so they always get the DataFrame."""
    steps = getattr(estimator, "steps", None)
    if type(estimator).__module__ == "sklearn.pipeline" and steps is not None:
        return all(_ignores_column_names(step) for _, step in steps if step not in (None, "passthrough"))
    module = type(estimator).__module__
    if not module.startswith("sklearn.") or module.startswith(_NAME_BASED_MODULES):
        return False
    return (getattr(estimator, "_sklearn_output_config", None) or {}).get("transform") in (None, "default")


class SklearnPyfunc:
    def __init__(self, estimator: Any, predict_fn: str = "predict") -> None:
        self.raw_model = estimator
        self._predict = getattr(estimator, predict_fn)
        names = getattr(estimator, "feature_names_in_", None)
        # sklearn spends most of a single-row predict inspecting a DataFrame; when the columns
        # are exactly the fitted names and only positions matter, hand it the numbers directly.
        self.array_columns: list[str] | None = (
            [str(n) for n in names] if names is not None and _ignores_column_names(estimator) else None
        )

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        data = _as_model_input(data)
        if (
            self.array_columns is not None
            and isinstance(data, pd.DataFrame)
            and list(data.columns) == self.array_columns
            and all(dtype.kind in "fiub" for dtype in data.dtypes.tolist())
        ):
            return self.predict_array(data.to_numpy())
        return self._predict(data)

    def predict_array(self, array: np.ndarray, params: dict[str, Any] | None = None) -> Any:
        """Predict on a 2-D array whose columns are ``array_columns``, in that order."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            return self._predict(array)


def load_pyfunc_impl(model_dir: Path, model: Model) -> SklearnPyfunc:
    predict_fn = (model.flavors.get(PYFUNC_FLAVOR) or {}).get("predict_fn") or "predict"
    return SklearnPyfunc(_load_estimator(model_dir, model), predict_fn)


def load_model(model_uri: str, dst_path: str | None = None, skops_trusted_types: list[str] | None = None) -> Any:
    """The estimator itself from a model URI (runs:/, models:/, a local path).

    ``skops_trusted_types``: fully qualified type names to trust in a skops-format model on top
    of what trackflow trusts by default (see the module docstring)."""
    from trackflow.models.uri import download_flavor

    model_dir, model = download_flavor(model_uri, FLAVOR_NAME, dst_path)
    return _load_estimator(model_dir, model, skops_trusted_types)


def log_model(
    sk_model: Any,
    name: str = "model",
    input_example: Any = None,
    signature: ModelSignature | None | bool = None,
    registered_model_name: str | None = None,
    serialization_format: str = "cloudpickle",
    pip_requirements: list[str] | None = None,
    extra_pip_requirements: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    pyfunc_predict_fn: str = "predict",
    run_id: str | None = None,
    artifact_path: str | None = None,
) -> Any:
    """Save the estimator under ``<name>/`` in the run's artifacts (the active run by default)
    and register it when ``registered_model_name`` is given. Returns a ModelInfo."""
    from trackflow.models.log_model import log_model as _log

    def save(path: str, mlmodel: Model) -> Model:
        return save_model(
            sk_model,
            path,
            input_example=input_example,
            signature=signature,
            serialization_format=serialization_format,
            pip_requirements=pip_requirements,
            extra_pip_requirements=extra_pip_requirements,
            metadata=metadata,
            pyfunc_predict_fn=pyfunc_predict_fn,
            _mlmodel=mlmodel,
        )

    return _log(save, artifact_path or name, registered_model_name=registered_model_name, run_id=run_id)
