"""Artifacts in a local directory (the embedded default)."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from trackflow.artifacts.base import (
    CHUNK_SIZE,
    ArtifactRepository,
    FileInfo,
    require_file_path,
    safe_relative_path,
)
from trackflow.errors import InvalidInput, NotFound, StorageFull


def local_path_from_uri(root: str) -> str:
    """``file:///a/b`` or ``file:/a/b`` or ``/a/b`` or ``rel/dir`` -> an absolute local path."""
    if root.startswith("file:"):
        parts = urlsplit(root)
        if parts.netloc not in ("", "localhost"):
            raise InvalidInput(f"file URI {root!r} names a remote host; only local paths are supported")
        if not parts.path:
            raise InvalidInput(f"file URI {root!r} has no path")
        return os.path.abspath(unquote(parts.path))
    return os.path.abspath(os.path.expanduser(root))


class LocalArtifactRepository(ArtifactRepository):
    """Artifacts stored as files under the directory ``root`` (a path or ``file://`` URI).

    The root directory is created on the first write.
    """

    def __init__(self, root: str) -> None:
        self.root = local_path_from_uri(root)

    def __repr__(self) -> str:
        return f"LocalArtifactRepository({self.root!r})"

    def _local(self, artifact_path: str | None) -> str:
        """The local path for a validated artifact path, refusing symlinks that leave the root."""
        rel = safe_relative_path(artifact_path or "")
        full = os.path.join(self.root, *rel.split("/")) if rel else self.root
        real_root = os.path.realpath(self.root)
        real = os.path.realpath(full)
        if real != real_root and not real.startswith(real_root + os.sep):
            raise InvalidInput(f"artifact path {artifact_path!r} resolves outside the artifact root")
        return full

    def _write_atomically(self, dest: str, write: Callable[[BinaryIO], object]) -> None:
        """Write through a temporary file in the same directory, then rename over ``dest``."""
        directory = os.path.dirname(dest)
        if os.path.isdir(dest):
            raise InvalidInput(f"cannot write file {dest!r}: a directory of that name exists")
        os.makedirs(directory, exist_ok=True)
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        except OSError as exc:
            _raise_if_full(exc, dest)
            raise
        try:
            with os.fdopen(fd, "wb") as out:
                write(out)
            os.replace(tmp, dest)
        except BaseException as exc:
            if os.path.exists(tmp):
                os.unlink(tmp)  # a partial file frees its space; the previous ``dest`` is intact
            if isinstance(exc, OSError):
                _raise_if_full(exc, dest)
            raise

    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        base = self._local(artifact_path)
        if not os.path.isfile(local_file):
            raise NotFound(f"local file {local_file!r} does not exist")
        dest = os.path.join(base, os.path.basename(local_file))

        def copy(out: BinaryIO) -> None:
            with open(local_file, "rb") as src:
                shutil.copyfileobj(src, out, CHUNK_SIZE)

        self._write_atomically(dest, copy)

    def put_bytes(self, data: bytes, artifact_path: str) -> None:
        dest = self._local(require_file_path(artifact_path))
        self._write_atomically(dest, lambda out: out.write(data))

    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> None:
        dest = self._local(require_file_path(artifact_path))

        def write(out: BinaryIO) -> None:
            for chunk in chunks:
                out.write(chunk)

        self._write_atomically(dest, write)

    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        rel = safe_relative_path(path or "")
        directory = self._local(rel)
        if not os.path.isdir(directory):
            return []
        infos = []
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.name.startswith(".tmp-") and entry.name.endswith(".part"):
                    continue  # an upload in progress
                child = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_dir():
                    infos.append(FileInfo(child, True, None))
                else:
                    infos.append(FileInfo(child, False, entry.stat().st_size))
        return sorted(infos, key=lambda info: info.path)

    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        rel = safe_relative_path(artifact_path)
        src = self._local(rel)
        dest = os.path.join(os.path.abspath(dst_path), *rel.split("/")) if rel else os.path.abspath(dst_path)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            shutil.copyfile(src, dest)
        elif os.path.isdir(src):
            shutil.copytree(src, dest, dirs_exist_ok=True)
        elif not rel:
            os.makedirs(dest, exist_ok=True)  # an empty root is an empty directory, not an error
        else:
            raise NotFound(f"artifact {artifact_path!r} does not exist")
        return dest

    def open_read(self, artifact_path: str) -> Iterator[bytes]:
        src = self._local(require_file_path(artifact_path))
        try:
            handle = open(src, "rb")  # noqa: SIM115 - closed by the generator below
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"artifact file {artifact_path!r} does not exist") from None
        return _read_chunks(handle)

    def read_head(self, artifact_path: str, max_bytes: int) -> tuple[bytes, bool]:
        src = self._local(require_file_path(artifact_path))
        try:
            with open(src, "rb") as handle:
                data = handle.read(max_bytes + 1)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFound(f"artifact file {artifact_path!r} does not exist") from None
        return data[:max_bytes], len(data) > max_bytes

    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        target = self._local(artifact_path)
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        elif os.path.lexists(target):
            os.unlink(target)


def _raise_if_full(exc: OSError, dest: str) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        raise StorageFull(f"the artifact store is full: cannot write {dest!r} ({os.strerror(exc.errno)})") from None


def _read_chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK_SIZE):
            yield chunk
