"""Where a model version registered over MLflow's REST API may come from (MLflow's server rules).

A version made through MLflow's API must name its source inside the run it comes from: a
``runs:/<run_id>/...`` URI with the same ``run_id``, or a path under that run's artifact URI
(``mlflow-artifacts:/...``, or a local path when the run's artifacts are local). Other URIs
(``s3://``, ``gs://``...) are taken as they are, but no URI may climb out of its directory with
``..``. trackflow's own clients may register any path; these rules guard the server's files
against a source that names them.
"""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from collections.abc import Callable

from trackflow.errors import InvalidInput

_ARTIFACT_ROUTE = "/api/2.0/mlflow-artifacts/artifacts/"


def is_local(uri: str) -> bool:
    """A local path: no scheme, or ``file:`` on this machine."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "":
        return True
    host = parsed.hostname or ""
    return parsed.scheme == "file" and (host in ("", ".") or host.startswith(("localhost", "127.0.0.1")))


def _local_path(uri: str) -> str:
    return posixpath.normpath(urllib.parse.urlparse(uri).path if uri.startswith("file:") else uri)


def _within(path: str, root: str) -> bool:
    path, root = path.rstrip("/"), root.rstrip("/")
    return path == root or path.startswith(root + "/")


def _invalid(source: str, why: str) -> InvalidInput:
    return InvalidInput(f"Invalid model version source: '{source}'. {why}")


def _check_no_relative_parts(source: str) -> None:
    decoded = source
    while (unquoted := urllib.parse.unquote_plus(decoded)) != decoded:
        decoded = unquoted
    path = re.sub(r"/+", "/", urllib.parse.urlparse(decoded).path.rstrip("/"))
    if "\x00" in path or ".." in decoded.split("/") or (path and posixpath.normpath(path) != path):
        raise _invalid(source, "It must be an absolute path without relative path references ('..').")


def check_version_source(source: str, run_id: str | None, run_artifact_uri: Callable[[str], str | None]) -> None:
    """Raise InvalidInput unless ``source`` may be registered with ``run_id``.

    ``run_artifact_uri(run_id)`` returns the run's artifact URI, or None for a run that does not
    exist. ``models:/`` sources (MLflow 3 logged models) are checked elsewhere.
    """
    needs_run = "The run_id request parameter must identify the run whose artifacts contain the source."
    if is_local(source):
        root = run_artifact_uri(run_id) if run_id else None
        if root is None or not is_local(root) or not _within(_local_path(source), _local_path(root)):
            raise _invalid(
                source,
                "To use a local path as a model version source, the run_id request parameter has to be "
                "specified and the local path has to be contained within the artifact directory of that run.",
            )
        return
    _check_no_relative_parts(source)
    parsed = urllib.parse.urlparse(source)
    if parsed.scheme == "runs":
        source_run = parsed.path.lstrip("/").split("/", 1)[0]
        if parsed.netloc or not run_id or source_run != run_id:
            raise _invalid(source, needs_run)
    elif parsed.scheme == "mlflow-artifacts" or (
        parsed.scheme in ("http", "https") and _ARTIFACT_ROUTE in parsed.path
    ):
        root = run_artifact_uri(run_id) if run_id else None
        if root is None or not _within(_artifact_path(source), _artifact_path(root)):
            raise _invalid(source, needs_run)


def _artifact_path(uri: str) -> str:
    """The path of a proxied artifact URI under the artifact root, whatever way it is written."""
    parsed = urllib.parse.urlparse(uri)
    path = parsed.path
    if _ARTIFACT_ROUTE in path:
        path = path.split(_ARTIFACT_ROUTE, 1)[1]
    return posixpath.normpath("/" + path.lstrip("/"))
