"""Artifact storage: one interface (base.py), three backends, and the URI -> repository factory."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from trackflow.artifacts.base import ArtifactRepository, FileInfo, safe_relative_path
from trackflow.artifacts.local import LocalArtifactRepository
from trackflow.errors import InvalidInput

if TYPE_CHECKING:
    from trackflow.artifacts.http import HttpArtifactRepository
    from trackflow.artifacts.s3 import S3ArtifactRepository

__all__ = [
    "PROXY_ARTIFACTS_PATH",
    "ArtifactRepository",
    "FileInfo",
    "HttpArtifactRepository",
    "LocalArtifactRepository",
    "S3ArtifactRepository",
    "get_artifact_repository",
    "safe_relative_path",
]

# Where a tracking server serves proxied artifacts (MLflow's route, which trackflow also serves).
PROXY_ARTIFACTS_PATH = "/api/2.0/mlflow-artifacts/artifacts"


def get_artifact_repository(
    uri: str, *, tracking_base_url: str | None = None, proxy_destination: str | None = None, token: str = ""
) -> ArtifactRepository:
    """The repository for an artifact URI.

    - ``file:///dir`` or a plain path -> LocalArtifactRepository
    - ``s3://bucket/prefix`` -> S3ArtifactRepository
    - ``http(s)://host/api/2.0/mlflow-artifacts/artifacts/<root>`` -> HttpArtifactRepository
    - ``mlflow-artifacts:/<path>`` (MLflow's scheme for proxied artifacts): through the server at
      ``tracking_base_url`` when given (a client in remote mode); otherwise, on the server
      side, directly at ``proxy_destination`` (a directory or ``s3://`` URI) joined with <path>.

    ``token`` is the API token sent (as Bearer) to the tracking server at ``tracking_base_url``
    when it has auth on; never to another host.

    Raises InvalidInput for an empty URI, an unknown scheme, or an ``mlflow-artifacts`` URI
    with neither ``tracking_base_url`` nor ``proxy_destination``.
    """
    if not uri:
        raise InvalidInput("artifact URI is empty")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    # A one-letter scheme is a Windows drive ("C:\\runs"), i.e. a plain path.
    if scheme in ("", "file") or len(scheme) == 1:
        return LocalArtifactRepository(uri)
    if scheme == "s3":
        from trackflow.artifacts.s3 import S3ArtifactRepository

        return S3ArtifactRepository(uri)
    if scheme in ("http", "https"):
        from trackflow.artifacts.http import HttpArtifactRepository

        return HttpArtifactRepository(uri)
    if scheme == "mlflow-artifacts":
        return _proxied_repository(uri, tracking_base_url, proxy_destination, token)
    raise InvalidInput(
        f"unsupported artifact URI scheme {parts.scheme!r} in {uri!r}; "
        "use a path, file://, s3://, http(s):// or mlflow-artifacts:/"
    )


def _proxied_repository(
    uri: str, tracking_base_url: str | None, proxy_destination: str | None, token: str = ""
) -> ArtifactRepository:
    parts = urlsplit(uri)
    path = safe_relative_path(parts.path.lstrip("/"))
    if tracking_base_url:
        base = urlsplit(tracking_base_url.rstrip("/"))
        # mlflow-artifacts://other-host:5000/path names the server to use (MLflow allows this).
        netloc = parts.netloc or base.netloc
        url = f"{base.scheme}://{netloc}{base.path}{PROXY_ARTIFACTS_PATH}"
        from trackflow.artifacts.http import HttpArtifactRepository

        return HttpArtifactRepository(f"{url}/{quote(path, safe='/')}" if path else url,
                                      token=token if netloc == base.netloc else "")
    if proxy_destination:
        return get_artifact_repository(_join_destination(proxy_destination, path))
    raise InvalidInput(
        f"artifact URI {uri!r} is served by a tracking server: set a tracking URI (http://...) "
        "or, on the server, an artifacts destination"
    )


def _join_destination(destination: str, path: str) -> str:
    """Append a relative path to a directory, file:// or s3:// destination."""
    if not path:
        return destination
    scheme = urlsplit(destination).scheme
    if scheme and len(scheme) > 1:  # a URI: join with '/'
        return f"{destination.rstrip('/')}/{path}"
    return os.path.join(destination, *path.split("/"))


def __getattr__(name: str) -> Any:
    # The HTTP (requests) and S3 (boto3) backends load on first use: most processes need neither.
    if name == "HttpArtifactRepository":
        from trackflow.artifacts.http import HttpArtifactRepository

        return HttpArtifactRepository
    if name == "S3ArtifactRepository":
        from trackflow.artifacts.s3 import S3ArtifactRepository

        return S3ArtifactRepository
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
