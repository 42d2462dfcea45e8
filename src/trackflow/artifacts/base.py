"""The artifact repository interface and the path rule every implementation shares.

An artifact repository stores files under one root (a directory, an S3 prefix, or a
proxied location on a trackflow/MLflow server). Every path handed to a repository is
*relative to that root*, uses ``/`` as separator, and is checked by
:func:`safe_relative_path` before any I/O, so no caller can read or write outside the root.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from trackflow.errors import InvalidInput, NotFound

# Size of the pieces files are read, streamed and copied in.
CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class FileInfo:
    """One entry of a listing.

    ``path`` is relative to the repository root (``"sub/model.pkl"``, never absolute),
    ``file_size`` is the size in bytes for files and ``None`` for directories.
    """

    path: str
    is_dir: bool
    file_size: int | None = None


def safe_relative_path(path: str) -> str:
    """Normalize ``path`` into a clean relative artifact path, or raise InvalidInput naming it.

    Returns ``""`` for the root (``""``, ``"."``, ``"./"``). Removes ``.`` segments, repeated and
    trailing slashes, and resolves ``..`` segments that stay inside the root (``"a/../b"`` -> ``"b"``).

    Raises InvalidInput for: absolute paths (``/etc/passwd``), Windows drives (``C:...``), ``..``
    escaping the root (``../x``, ``a/../../b``), backslashes (a separator on Windows, so a way
    to smuggle ``..\\``), and NUL or other control characters.
    """
    if not isinstance(path, str):
        raise InvalidInput(f"artifact path must be a string, got {path!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in path):
        raise InvalidInput(f"artifact path {path!r} contains a control character")
    if "\\" in path:
        raise InvalidInput(f"artifact path {path!r} contains a backslash; use '/' as separator")
    if path.startswith("/"):
        raise InvalidInput(f"artifact path {path!r} is absolute; it must be relative to the artifact root")
    if len(path) >= 2 and path[1] == ":" and path[0].isalpha():
        raise InvalidInput(f"artifact path {path!r} looks like a Windows drive path")
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                raise InvalidInput(f"artifact path {path!r} escapes the artifact root")
            parts.pop()
        else:
            parts.append(segment)
    return "/".join(parts)


def join_artifact_path(*parts: str | None) -> str:
    """Join relative artifact paths with ``/``, skipping empty and None parts."""
    return "/".join(p for p in parts if p)


def walk_local_files(local_dir: str) -> Iterator[tuple[str, str]]:
    """Yield ``(local_file, relative_dir)`` for every file under ``local_dir``, in sorted order.

    ``relative_dir`` uses ``/`` and is ``""`` for files directly in ``local_dir``.
    """
    local_dir = os.path.abspath(local_dir)
    for current, dirnames, filenames in os.walk(local_dir):
        dirnames.sort()
        rel = os.path.relpath(current, local_dir)
        rel_dir = "" if rel == "." else rel.replace(os.sep, "/")
        for name in sorted(filenames):
            yield os.path.join(current, name), rel_dir


class ArtifactRepository(ABC):
    """Files under one root. All ``artifact_path`` arguments are relative to the root.

    Implementations: LocalArtifactRepository (a directory), S3ArtifactRepository (a bucket
    prefix), HttpArtifactRepository (a server's proxied ``mlflow-artifacts`` API). They pass
    the same contract suite (tests/artifacts/test_artifact_contract.py).

    Every method validates paths with :func:`safe_relative_path` and raises InvalidInput
    naming a path that is absolute, escapes the root, or holds backslashes or control
    characters. Directories are implicit: they exist while they contain a file.
    """

    @abstractmethod
    def log_artifact(self, local_file: str, artifact_path: str | None = None) -> None:
        """Store the local file at ``<artifact_path>/<basename(local_file)>`` (at the root if None).

        Overwrites an existing artifact of that name. Raises NotFound if ``local_file`` is not
        an existing file.
        """

    def log_artifacts(self, local_dir: str, artifact_path: str | None = None) -> None:
        """Store every file under ``local_dir`` (not the directory itself) below ``artifact_path``.

        ``local_dir/a/b.txt`` becomes ``<artifact_path>/a/b.txt``. Empty directories are not
        stored. Raises NotFound if ``local_dir`` is not an existing directory.
        """
        base = safe_relative_path(artifact_path or "")
        if not os.path.isdir(local_dir):
            raise NotFound(f"local directory {local_dir!r} does not exist")
        for local_file, rel_dir in walk_local_files(local_dir):
            self.log_artifact(local_file, join_artifact_path(base, rel_dir) or None)

    @abstractmethod
    def put_bytes(self, data: bytes, artifact_path: str) -> None:
        """Write ``data`` as the one file at ``artifact_path`` (overwriting it).

        Raises InvalidInput if ``artifact_path`` is the root.
        """

    @abstractmethod
    def list_artifacts(self, path: str | None = None) -> list[FileInfo]:
        """List the direct children of directory ``path`` (the root if None), sorted by path.

        Paths in the result are relative to the repository root, like MLflow
        (listing ``"sub"`` gives ``"sub/a.txt"``). Directories have ``is_dir=True`` and
        ``file_size=None``. A missing path or a path naming a file gives ``[]``.
        """

    @abstractmethod
    def download_artifacts(self, artifact_path: str, dst_path: str) -> str:
        """Copy the file or whole directory at ``artifact_path`` to ``dst_path/artifact_path``.

        ``dst_path`` is created if needed. Returns the local path of the downloaded file or
        directory (``dst_path`` itself for the root). Raises NotFound if nothing is stored
        at ``artifact_path``.
        """

    @abstractmethod
    def open_read(self, artifact_path: str) -> Iterator[bytes]:
        """Return an iterator of byte chunks of the file at ``artifact_path``, streaming.

        The existence check is eager: NotFound is raised by this call (not on the first
        ``next``) when no file is stored there, so a server can answer 404 before it
        starts a response. Close the iterator (or exhaust it) to release the connection.
        """

    def read_head(self, artifact_path: str, max_bytes: int) -> tuple[bytes, bool]:
        """The first ``max_bytes`` bytes of the file at ``artifact_path``, and True when the file
        is longer (previews read only this much of a file of any size).

        Raises NotFound like open_read. This default reads through open_read and stops after the
        chunk that passes ``max_bytes``; backends that can read a range do so.
        """
        chunks = self.open_read(artifact_path)
        buffer = bytearray()
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) > max_bytes:
                    return bytes(buffer[:max_bytes]), True
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # releases the file or connection before the end
        return bytes(buffer), False

    @abstractmethod
    def write_stream(self, artifact_path: str, chunks: Iterable[bytes]) -> None:
        """Write the file at ``artifact_path`` from an iterable of byte chunks.

        Never holds the whole file in memory. Readers never see a half-written file
        (local writes go through a temporary file, object stores commit on completion).
        Raises InvalidInput if ``artifact_path`` is the root.
        """

    @abstractmethod
    def delete_artifacts(self, artifact_path: str | None = None) -> None:
        """Delete the file or everything under the directory at ``artifact_path``.

        None (or ``""``) deletes everything under the root. Deleting a missing path is a
        no-op, so garbage collection can be retried.
        """


def require_file_path(path: str) -> str:
    """Validate ``path`` and refuse the root, for operations that write one file."""
    clean = safe_relative_path(path)
    if not clean:
        raise InvalidInput(f"artifact path {path!r} names the root; a file path is required")
    return clean
