"""Artifacts through a tracking server's proxied artifact API (MLflow's ``mlflow-artifacts``).

The client needs no storage credentials: the server holds them. Endpoints, relative to
``http://host:port/api/2.0/mlflow-artifacts/artifacts``:

- ``PUT    /<root>/<path>``  raw body -> stores one file
- ``GET    /<root>/<path>``  -> the file's bytes
- ``DELETE /<root>/<path>``  -> deletes the file or directory
- ``GET    ?path=<root>/<dir>`` -> ``{"files": [{"path": "name", "is_dir": false, "file_size": 12}]}``
  where ``path`` is the entry's name inside the listed directory (MLflow's behaviour).

Errors come back in MLflow's shape ``{"error_code": ..., "message": ...}``: 404 becomes
NotFound, 400 InvalidInput, 409 Conflict, each carrying the server's message.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from trackflow.artifacts.base import (
    CHUNK_SIZE,
    ArtifactRepository,
    FileInfo,
    require_file_path,
    safe_relative_path,
)
from trackflow.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    StorageFull,
    TrackflowError,
    Unauthenticated,
)

ARTIFACTS_ENDPOINT = "/mlflow-artifacts/artifacts"


class HttpArtifactRepository(ArtifactRepository):
    """Artifacts under ``base_url``, e.g.
    ``http://host:5000/api/2.0/mlflow-artifacts/artifacts/1/abc123/artifacts``.

    ``timeout`` is the seconds to wait for a connection or for each read from the socket
    (not for a whole transfer).
    """

    def __init__(
        self, base_url: str, session: requests.Session | None = None, timeout: float | None = 120.0,
        token: str = "",
    ) -> None:
        self.base_url = base_url.rstrip("/")
        head, sep, tail = self.base_url.rpartition(ARTIFACTS_ENDPOINT)
        if not sep or urlsplit(self.base_url).scheme not in ("http", "https"):
            raise InvalidInput(
                f"artifact URL {base_url!r} must look like "
                f"http(s)://host:port/api/2.0{ARTIFACTS_ENDPOINT}/<root>"
            )
        self.list_url = head + ARTIFACTS_ENDPOINT
        # The root as the server sees it: the URL path after the endpoint, decoded.
        self.root = unquote(tail.strip("/"))
        self.session = session or requests.Session()
        if token:  # a tracking server with auth on (TRACKFLOW_TRACKING_TOKEN)
            self.session.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"HttpArtifactRepository({self.base_url!r})"

    def _url(self, rel: str) -> str:
        return f"{self.base_url}/{quote(rel, safe='/')}" if rel else f"{self.base_url}/"

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            raise TrackflowError(f"cannot reach the artifact server at {url}: {exc}") from None
        if response.status_code >= 400:
            _raise_for_status(response, method, url)
        return response

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        base = safe_relative_path(artifact_path or "")
        if not os.path.isfile(local_file):
            raise NotFound(f"local file {local_file!r} does not exist")
        rel = "/".join(p for p in (base, os.path.basename(local_file)) if p)
        rel = require_file_path(rel)
        with open(local_file, "rb") as body:  # requests streams a file object, never reads it whole
            self._request("PUT", self._url(rel), data=body).close()

    def put_bytes(self, data: bytes, artifact_path: str) -> None:
        rel = require_file_path(artifact_path)
        self._request("PUT", self._url(rel), data=data).close()

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> None:
        rel = require_file_path(artifact_path)
        # A generator body is sent with chunked transfer encoding, one chunk at a time.
        body = (bytes(chunk) for chunk in chunks if chunk)
        self._request("PUT", self._url(rel), data=body).close()

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path or "")
        listed = posixpath.join(self.root, rel) if rel else self.root
        response = self._request("GET", self.list_url, params={"path": listed})
        infos = []
        for entry in response.json().get("files", []):
            # The server's names are data from the network: validate before joining.
            name = safe_relative_path(str(entry["path"]))
            child = f"{rel}/{name}" if rel else name
            size = entry.get("file_size")
            is_dir = bool(entry.get("is_dir", False))
            infos.append(FileInfo(child, is_dir, None if is_dir or size is None else int(size)))
        # Some MLflow backends list a file path as the file itself; the contract says [].
        if (
            rel
            and len(infos) == 1
            and not infos[0].is_dir
            and infos[0].path == f"{rel}/{posixpath.basename(rel)}"
        ):
            return []
        return sorted(infos, key=lambda info: info.path)

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        rel = safe_relative_path(artifact_path)
        dst_root = os.path.abspath(dst_path)
        dest = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        children = self.list_artifacts(rel)
        if children or not rel:
            os.makedirs(dest, exist_ok=True)
            for child in children:
                if child.is_dir:
                    self.download_artifacts(child.path, dst_root)
                else:
                    self._download_file(child.path, os.path.join(dst_root, *child.path.split("/")))
        else:
            try:
                self._download_file(rel, dest)
            except NotFound:
                raise NotFound(f"artifact {artifact_path!r} does not exist at {self.base_url}") from None
        return dest

    def _download_file(self, rel: str, dest: str) -> None:
        chunks = self.open_read(rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "wb") as out:
            for chunk in chunks:
                out.write(chunk)

    def open_read(self, artifact_path: str) -> Iterator[bytes]:
        rel = require_file_path(artifact_path)
        response = self._request("GET", self._url(rel), stream=True)
        return _stream_response(response)

    def read_head(self, artifact_path: str, max_bytes: int) -> tuple[bytes, bool]:
        rel = require_file_path(artifact_path)
        with self._request("GET", self._url(rel), stream=True) as response:
            data = bytearray()
            while len(data) <= max_bytes:  # one byte past the cap tells whether there is more
                piece = response.raw.read(max_bytes + 1 - len(data), decode_content=True)
                if not piece:
                    break
                data += piece
        return bytes(data[:max_bytes]), len(data) > max_bytes

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = safe_relative_path(artifact_path or "")
        try:
            self._request("DELETE", self._url(rel)).close()
        except NotFound:
            pass  # deleting a missing path is a no-op


def _stream_response(response: requests.Response) -> Iterator[bytes]:
    with response:
        yield from response.iter_content(CHUNK_SIZE)


def _raise_for_status(response: requests.Response, method: str, url: str) -> None:
    """Turn an HTTP error into a trackflow error carrying the server's message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    finally:
        response.close()
    if isinstance(body, dict) and body.get("message"):
        message = str(body["message"])
    else:
        message = response.text.strip() or str(response.reason)
    status = response.status_code
    if status == 404:
        raise NotFound(message)
    if status == 400:
        raise InvalidInput(message)
    if status == 409:
        raise Conflict(message)
    if status == 401:
        raise Unauthenticated(f"{method} {url}: {message}")
    if status == 403:  # a server with auth on: the user lacks the permission
        raise PermissionDenied(f"{method} {url}: {message}")
    if status == 507:
        raise StorageFull(message)
    raise TrackflowError(f"{method} {url} failed with HTTP {status}: {message}")
