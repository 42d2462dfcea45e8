"""Model URIs -> a local model directory.

Accepted: a local path or ``file://`` URI, ``runs:/<run_id>/<path>``,
``models:/<name>/<version>``, ``models:/<name>@<alias>``, ``models:/<name>/latest`` and
``models:/<model_id>`` (an MLflow 3 logged model, id ``m-<32 hex>``). As in MLflow 3,
``runs:/<run_id>/<name>`` also finds a logged model called ``name`` that the run produced
when the run has no artifacts at that path.
Remote models are downloaded to ``dst_path`` (a fresh temporary directory by default).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from trackflow.errors import InvalidInput, NotFound
from trackflow.tracking.logged_models import logged_model_id

if TYPE_CHECKING:
    from trackflow.models.format import Model


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/`` URI: exactly one of version / alias / latest is set."""

    name: str
    version: str | None = None
    alias: str | None = None
    sub_path: str = ""

    @property
    def latest(self) -> bool:
        return self.version is None and self.alias is None


def parse_models_uri(uri: str) -> ModelRef:
    body = uri[len("models:/") :].lstrip("/")
    if not body:
        raise InvalidInput(f"model URI {uri!r} names no model: use models:/<name>/<version> or models:/<name>@<alias>")
    head, _, rest = body.partition("/")
    if "@" in head:
        name, _, alias = head.partition("@")
        if not name or not alias:
            raise InvalidInput(f"model URI {uri!r} is malformed: use models:/<name>@<alias>")
        return ModelRef(unquote(name), alias=unquote(alias), sub_path=rest)
    version, _, sub = rest.partition("/")
    if not version:
        raise InvalidInput(f"model URI {uri!r} has no version or alias: use models:/<name>/<version> or @<alias>")
    if version == "latest":
        return ModelRef(unquote(head), sub_path=sub)
    if not version.isdigit():
        raise InvalidInput(f"model URI {uri!r}: version {version!r} is not a number (stages are not supported)")
    return ModelRef(unquote(head), version=version, sub_path=sub)


def parse_runs_uri(uri: str) -> tuple[str, str]:
    body = uri[len("runs:/") :].lstrip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise InvalidInput(f"model URI {uri!r} names no run: use runs:/<run_id>/<path>")
    return run_id, path.strip("/")


def download_model(uri: str | os.PathLike[str], dst_path: str | None = None, tracking_uri: str | None = None) -> Path:
    """A local directory holding the model named by ``uri`` (NotFound if there is none)."""
    text = str(uri)
    if text.startswith("runs:/"):
        from trackflow.tracking import fluent
        from trackflow.tracking.client import Client

        run_id, path = parse_runs_uri(text)
        client = Client(tracking_uri) if tracking_uri else fluent.get_client()
        destination = dst_path or tempfile.mkdtemp(prefix="trackflow-model-")
        try:
            return Path(client.download_artifacts(run_id, path, destination))
        except NotFound:
            name, _, rest = path.partition("/")
            model = client.find_run_model(run_id, name) if name else None
            if model is None:
                raise
            target = os.path.join(destination, name)
            return Path(client.download_logged_model_artifacts(model.model_id, rest, target))
    if (model_id := logged_model_id(text)) is not None:
        from trackflow.tracking import fluent
        from trackflow.tracking.client import Client

        client = Client(tracking_uri) if tracking_uri else fluent.get_client()
        destination = dst_path or tempfile.mkdtemp(prefix="trackflow-model-")
        return Path(client.download_logged_model_artifacts(model_id, "", destination))
    if text.startswith("models:/"):
        return download_model(resolve_models_uri(text, tracking_uri), dst_path, tracking_uri)
    if text.startswith("file:"):
        text = unquote(urlparse(text).path)
    elif text.startswith(("mlflow-artifacts:", "s3:", "http:", "https:")):
        # an artifact location, as a registered version's source may be
        from trackflow.tracking.backend import resolve_backend

        repo = resolve_backend(tracking_uri).artifact_repository(text)
        return Path(repo.download_artifacts("", dst_path or tempfile.mkdtemp(prefix="trackflow-model-")))
    elif "://" in text or text.startswith("models:"):
        raise InvalidInput(
            f"model URI {text!r} is not supported: use a local path, runs:/<run_id>/<path> or models:/<name>/..."
        )
    local = Path(text).expanduser()
    if not local.exists():
        raise NotFound(f"no model at {text!r}")
    return local


def resolve_models_uri(uri: str, tracking_uri: str | None = None) -> str:
    """The source URI (``runs:/...`` or a path) of the registered version ``uri`` points at."""
    from trackflow.registry.client import Client

    ref = parse_models_uri(uri)
    registry = Client(tracking_uri)
    if ref.alias is not None:
        version = registry.get_model_version_by_alias(ref.name, ref.alias)
    elif ref.version is not None:
        version = registry.get_model_version(ref.name, ref.version)
    else:
        version = registry.get_latest_version(ref.name)
    source = version.source
    return f"{source.rstrip('/')}/{ref.sub_path}" if ref.sub_path else source


def download_flavor(model_uri: str, flavor: str, dst_path: str | None = None) -> tuple[Path, Model]:
    """The local directory and manifest of a model that must have ``flavor``; InvalidInput if not."""
    from trackflow.models.format import Model

    model_dir = download_model(model_uri, dst_path)
    model = Model.load(model_dir)
    if flavor not in model.flavors:
        raise InvalidInput(f"model {model_uri!r} has no {flavor} flavor (flavors: {sorted(model.flavors)})")
    return model_dir, model
