"""Artifacts in an S3-compatible object store (AWS S3, MinIO, Ceph, moto...).

boto3 is an optional dependency (``pip install trackflow[s3]``), imported when a repository
is built. Credentials and region come from boto3's usual chain (AWS_* env vars, profiles,
instance roles). The endpoint of an S3-compatible store comes from ``endpoint_url`` or,
like MLflow, from MLFLOW_S3_ENDPOINT_URL or AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from trackflow.artifacts.base import (
    CHUNK_SIZE,
    ArtifactRepository,
    FileInfo,
    require_file_path,
    safe_relative_path,
)
from trackflow.errors import InvalidInput, NotFound, TrackflowError

# delete_objects accepts at most this many keys per call.
DELETE_BATCH = 1000
# Environment variables naming the endpoint, in MLflow's order of precedence. They are part of
# the S3 tooling's own configuration (like AWS_ACCESS_KEY_ID, which boto3 reads itself), so they
# are read here, where the client is built, rather than in trackflow's Settings.
ENDPOINT_ENV_VARS = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL")
_MISSING_CODES = {"404", "NoSuchKey", "NotFound"}


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ``("bucket", "a/b")``. Raises InvalidInput for anything else."""
    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidInput(f"S3 URI {uri!r} must look like s3://bucket/prefix")
    prefix = parts.path.strip("/")
    if prefix:
        safe_relative_path(prefix)  # reject '..' and friends in the root itself
    return parts.netloc, prefix


class _ChunkReader(io.RawIOBase):
    """A read-only raw stream over an iterable of byte chunks (no seeking, no buffering)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = bytes(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class S3ArtifactRepository(ArtifactRepository):
    """Artifacts stored as objects under ``s3://bucket/prefix``; directories are key prefixes."""

    def __init__(self, uri: str, endpoint_url: str | None = None) -> None:
        import boto3
        import botocore.exceptions
        from boto3.s3.transfer import TransferConfig

        self.uri = uri
        self.bucket, self.prefix = parse_s3_uri(uri)
        self.endpoint_url = endpoint_url or next(
            (os.environ[var] for var in ENDPOINT_ENV_VARS if os.environ.get(var)), None
        )
        self._client: Any = boto3.client("s3", endpoint_url=self.endpoint_url)
        self._client_error: type[Exception] = botocore.exceptions.ClientError
        # Bounded memory for streamed uploads: at most max_concurrency parts are held at once.
        self._transfer_config = TransferConfig(max_concurrency=4)

    def __repr__(self) -> str:
        return f"S3ArtifactRepository({self.uri!r})"

    def _key(self, rel: str) -> str:
        return "/".join(p for p in (self.prefix, rel) if p)

    def _dir_prefix(self, rel: str) -> str:
        key = self._key(rel)
        return f"{key}/" if key else ""

    def _rel(self, key: str) -> str:
        return key[len(self.prefix) + 1 :] if self.prefix else key

    def _code(self, exc: Exception) -> str:
        return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))

    def _raise_missing_bucket(self, exc: Exception) -> None:
        if self._code(exc) == "NoSuchBucket":
            raise NotFound(f"S3 bucket {self.bucket!r} does not exist") from None

    def _is_file(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except self._client_error as exc:
            if self._code(exc) in _MISSING_CODES:
                return False
            self._raise_missing_bucket(exc)
            raise
        return True

    def _iter_keys(self, prefix: str) -> Iterator[dict[str, Any]]:
        """Every object under ``prefix``, recursively."""
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                yield from page.get("Contents", [])
        except self._client_error as exc:
            self._raise_missing_bucket(exc)
            raise

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        base = safe_relative_path(artifact_path or "")
        if not os.path.isfile(local_file):
            raise NotFound(f"local file {local_file!r} does not exist")
        key = self._key("/".join(p for p in (base, os.path.basename(local_file)) if p))
        self._client.upload_file(local_file, self.bucket, key, Config=self._transfer_config)

    def put_bytes(self, data: bytes, artifact_path: str) -> None:
        key = self._key(require_file_path(artifact_path))
        try:
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except self._client_error as exc:
            self._raise_missing_bucket(exc)
            raise

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> None:
        key = self._key(require_file_path(artifact_path))
        # upload_fileobj reads fixed-size parts (multipart above 8 MB), so only a few parts
        # are in memory at a time. BufferedReader makes read(n) return n bytes until EOF.
        stream = io.BufferedReader(_ChunkReader(chunks), CHUNK_SIZE)
        try:
            self._client.upload_fileobj(stream, self.bucket, key, Config=self._transfer_config)
        except self._client_error as exc:
            self._raise_missing_bucket(exc)
            raise

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path or "")
        prefix = self._dir_prefix(rel)
        infos: list[FileInfo] = []
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/"):
                for common in page.get("CommonPrefixes", []):
                    infos.append(FileInfo(self._rel(common["Prefix"].rstrip("/")), True, None))
                for obj in page.get("Contents", []):
                    if obj["Key"] == prefix:
                        continue  # a "folder marker" object some tools create
                    infos.append(FileInfo(self._rel(obj["Key"]), False, int(obj["Size"])))
        except self._client_error as exc:
            self._raise_missing_bucket(exc)
            raise
        return sorted(infos, key=lambda info: info.path)

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        rel = safe_relative_path(artifact_path)
        dst_root = os.path.abspath(dst_path)
        dest = os.path.join(dst_root, *rel.split("/")) if rel else dst_root
        if rel and self._is_file(self._key(rel)):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            self._client.download_file(self.bucket, self._key(rel), dest)
            return dest
        prefix = self._dir_prefix(rel)
        found = False
        for obj in self._iter_keys(prefix):
            child = obj["Key"][len(prefix) :]
            if not child or child.endswith("/"):
                continue  # folder markers
            # Object keys are not validated on upload by other tools: refuse ones escaping dst.
            child = safe_relative_path(child)
            local = os.path.join(dest, *child.split("/"))
            os.makedirs(os.path.dirname(local), exist_ok=True)
            self._client.download_file(self.bucket, obj["Key"], local)
            found = True
        if not found:
            if rel:
                raise NotFound(f"artifact {artifact_path!r} does not exist in {self.uri}")
            os.makedirs(dest, exist_ok=True)
        return dest

    def open_read(self, artifact_path: str) -> Iterator[bytes]:
        key = self._key(require_file_path(artifact_path))
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except self._client_error as exc:
            if self._code(exc) in _MISSING_CODES:
                raise NotFound(f"artifact file {artifact_path!r} does not exist in {self.uri}") from None
            self._raise_missing_bucket(exc)
            raise
        return _stream_body(response["Body"])

    def read_head(self, artifact_path: str, max_bytes: int) -> tuple[bytes, bool]:
        key = self._key(require_file_path(artifact_path))
        try:  # one more byte than asked tells whether the object is longer
            response = self._client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{max_bytes}")
        except self._client_error as exc:
            code = self._code(exc)
            if code in _MISSING_CODES:
                raise NotFound(f"artifact file {artifact_path!r} does not exist in {self.uri}") from None
            if code == "InvalidRange":  # a range starting at 0 is refused only for an empty object
                return b"", False
            self._raise_missing_bucket(exc)
            raise
        body = response["Body"]
        try:
            data = body.read(max_bytes + 1)  # a store ignoring Range still sends no more than this is read
        finally:
            body.close()
        return data[:max_bytes], len(data) > max_bytes

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        rel = safe_relative_path(artifact_path or "")
        keys: list[str] = []
        if rel:
            keys.append(self._key(rel))  # the file itself, if it is one (deleting a missing key is fine)
        keys.extend(obj["Key"] for obj in self._iter_keys(self._dir_prefix(rel)))
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            response = self._client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
            )
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise TrackflowError(
                    f"could not delete {len(errors)} object(s) from {self.uri}, "
                    f"first {first.get('Key')!r}: {first.get('Code')} {first.get('Message')}"
                )


def _stream_body(body: Any) -> Iterator[bytes]:
    try:
        yield from body.iter_chunks(CHUNK_SIZE)
    finally:
        body.close()
