"""Data of the run page's artifact browser: one directory level at a time, and a preview of the
selected file or directory. Both work through ArtifactRepository alone (list_artifacts,
open_read), so they behave the same on local, S3 and proxied (HTTP) artifact stores.

A tree has the run's own artifacts and, beside them, the files of each logged model the run
produced (MLflow 3 keeps those at the model's own location): a ``model_id`` picks that store.

Every path goes through safe_relative_path first (InvalidInput: the routes answer 400); a path
that names nothing answers NotFound (404). The readers that turn bytes into a preview live in
ui/artifact_readers.py.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Literal

from trackflow.artifacts import ArtifactRepository, FileInfo, safe_relative_path
from trackflow.errors import NotFound
from trackflow.server.services import Services
from trackflow.server.ui import artifact_readers as readers
from trackflow.server.ui.artifact_readers import ModelSummary
from trackflow.server.ui.urls import Urls

# A directory listing sent to the browser stops here (the store lists it whole; the page need not).
MAX_LISTED = 1000
MAX_LOGGED_MODELS = 20  # logged models shown beside the run's artifacts

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp"})
HTML_EXTENSIONS = frozenset({".html", ".htm"})
TABLE_EXTENSIONS = {".csv": ",", ".tsv": "\t"}
# Known binary formats: not even sniffed.
BINARY_EXTENSIONS = frozenset({
    ".pkl", ".pickle", ".joblib", ".skops", ".bin", ".pt", ".pth", ".onnx", ".npy", ".npz", ".zip", ".gz",
    ".tar", ".whl", ".h5", ".so", ".db", ".sqlite", ".pb", ".safetensors", ".ubj", ".cbm",
})


@dataclass
class ArtifactNode:
    """One entry of a directory: ``path`` from the run's artifact root, ``name`` its last segment."""

    path: str
    name: str
    is_dir: bool
    file_size: int | None
    download_url: str | None  # None for a directory
    model_id: str | None = None  # set when the file belongs to this logged model, not the run


@dataclass
class ArtifactListing:
    path: str  # "" for the root
    entries: list[ArtifactNode]
    truncated: bool  # True: the directory holds more than MAX_LISTED entries


PreviewKind = Literal["directory", "model", "text", "json", "yaml", "table", "image", "html", "none"]


@dataclass
class ArtifactPreview:
    """What the preview pane shows; only the fields of its ``kind`` are set ("none": no preview,
    ``message`` says why, the download link remains)."""

    path: str
    kind: PreviewKind
    is_dir: bool
    size: int | None = None
    download_url: str | None = None  # the file as an attachment
    raw_url: str | None = None  # image and html: the file served inline (sandboxed, see views.artifact)
    text: str | None = None  # text, json, yaml
    truncated: bool = False  # text/table: only the first bytes or rows are shown
    columns: list[str] = field(default_factory=list)  # table
    rows: list[list[str]] = field(default_factory=list)
    total_rows: int | None = None  # table: when known (parquet metadata, a whole CSV)
    model: ModelSummary | None = None
    entries: int | None = None  # directory: how many direct children
    message: str | None = None  # why there is no (full) preview


def _node(run_id: str, info: FileInfo, model_id: str | None) -> ArtifactNode:
    download = None if info.is_dir else Urls.artifact(run_id, info.path, model_id, download=True)
    return ArtifactNode(info.path, posixpath.basename(info.path), info.is_dir, info.file_size, download, model_id)


def list_level(repo: ArtifactRepository, run_id: str, path: str, model_id: str | None = None) -> ArtifactListing:
    """The direct children of directory ``path``, directories first. NotFound when ``path`` (not
    the root) is missing or names a file."""
    relative = safe_relative_path(path)
    found = repo.list_artifacts(relative or None)
    if relative and not found:
        raise NotFound(f"no artifact directory {relative!r} in run {run_id}")
    found.sort(key=lambda f: (not f.is_dir, f.path))
    entries = [_node(run_id, f, model_id) for f in found[:MAX_LISTED]]
    return ArtifactListing(relative, entries, len(found) > MAX_LISTED)


def _find(repo: ArtifactRepository, relative: str) -> FileInfo:
    """The entry at ``relative``, found in its parent's listing (the one call every store answers
    alike for files and directories). NotFound when there is none."""
    parent = posixpath.dirname(relative)
    for info in repo.list_artifacts(parent or None):
        if info.path == relative:
            return info
    raise NotFound(f"no artifact {relative!r}")


def preview(repo: ArtifactRepository, run_id: str, path: str, model_id: str | None = None) -> ArtifactPreview:
    """A preview of the file or directory at ``path``; reads at most a capped prefix of a file
    (artifact_readers). NotFound for a missing path."""
    relative = safe_relative_path(path)
    info = _find(repo, relative) if relative else FileInfo("", True)
    if info.is_dir:
        return _directory_preview(repo, relative)
    out = ArtifactPreview(relative, "none", False, info.file_size, Urls.artifact(run_id, relative, model_id, True))
    name = posixpath.basename(relative)
    extension = posixpath.splitext(name)[1].lower()
    if name == readers.MLMODEL_FILE:
        out.kind, out.model = "model", readers.read_model(repo, relative)
    elif extension in IMAGE_EXTENSIONS:
        out.kind, out.raw_url = "image", Urls.artifact(run_id, relative, model_id)
    elif extension in HTML_EXTENSIONS:
        out.kind, out.raw_url = "html", Urls.artifact(run_id, relative, model_id)
    elif extension in TABLE_EXTENSIONS:
        out.kind = "table"
        out.columns, out.rows, out.truncated, out.total_rows = readers.read_delimited(
            repo, relative, TABLE_EXTENSIONS[extension])
    elif extension == ".parquet":
        table = readers.read_parquet(repo, relative, info.file_size)
        if isinstance(table, str):
            out.message = table
        else:
            out.kind = "table"
            out.columns, out.rows, out.truncated, out.total_rows = table
    elif extension in BINARY_EXTENSIONS:
        out.message = "No preview for this file type."
    else:
        _text_preview(repo, relative, extension, out)
    return out


def _text_preview(repo: ArtifactRepository, relative: str, extension: str, out: ArtifactPreview) -> None:
    text, truncated = readers.read_text(repo, relative)
    if text is None:
        out.message = "No preview: this looks like a binary file."
        return
    out.kind, out.text, out.truncated = "text", text, truncated
    if extension == ".json":
        out.kind = "json"
        pretty = None if truncated else readers.pretty_json(text)
        if pretty is not None:
            out.text = pretty
        elif not truncated:
            out.message = "Not valid JSON; shown as text."
    elif extension in (".yaml", ".yml"):
        out.kind = "yaml"


def _directory_preview(repo: ArtifactRepository, relative: str) -> ArtifactPreview:
    children = repo.list_artifacts(relative or None)
    out = ArtifactPreview(relative, "directory", True, entries=len(children))
    manifest = posixpath.join(relative, readers.MLMODEL_FILE) if relative else readers.MLMODEL_FILE
    if any(c.path == manifest and not c.is_dir for c in children):
        out.kind, out.model = "model", readers.read_model(repo, manifest)
    return out


def run_repository(services: Services, run_id: str, model_id: str | None = None) -> ArtifactRepository:
    """The store of the run's artifacts, or of its logged model ``model_id``. NotFound for an
    unknown run, or a model that is not the run's (so read access to the run reaches no other files)."""
    run = services.tracking.get_run(run_id)
    if not model_id:
        return services.run_artifacts(run.info.artifact_uri)
    model = services.tracking.get_logged_model(model_id)
    if model.source_run_id != run_id and model_id not in {m.model_id for m in run.outputs.models}:
        raise NotFound(f"logged model {model_id!r} is not an output of run {run_id}")
    return services.run_artifacts(model.artifact_location)


def logged_model_roots(services: Services, run_id: str, model_ids: list[str]) -> list[ArtifactNode]:
    """A tree root per logged model the run produced (path "", named after the model); models
    deleted since are left out."""
    roots = []
    for model_id in list(dict.fromkeys(model_ids))[:MAX_LOGGED_MODELS]:
        try:
            model = services.tracking.get_logged_model(model_id)
        except NotFound:
            continue
        roots.append(ArtifactNode("", model.name, True, None, None, model.model_id))
    return roots


def run_artifact_listing(services: Services, run_id: str, path: str, model_id: str | None = None) -> ArtifactListing:
    """NotFound for an unknown run, model or directory; InvalidInput for a bad path."""
    safe_relative_path(path)  # refuse a bad path before touching the store
    return list_level(run_repository(services, run_id, model_id), run_id, path, model_id)


def run_artifact_preview(services: Services, run_id: str, path: str, model_id: str | None = None) -> ArtifactPreview:
    """NotFound for an unknown run, model or path; InvalidInput for a bad path."""
    safe_relative_path(path)
    return preview(run_repository(services, run_id, model_id), run_id, path, model_id)
