"""The ArtifactRepository contract, run against every backend over real storage.

A new backend is one more entry in ``BACKENDS`` and one branch in the ``repo`` fixture.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackflow.artifacts import (
    PROXY_ARTIFACTS_PATH,
    ArtifactRepository,
    FileInfo,
    HttpArtifactRepository,
    LocalArtifactRepository,
    S3ArtifactRepository,
)
from trackflow.errors import InvalidInput, NotFound

BACKENDS = ["local", "s3", "http"]


@pytest.fixture(params=BACKENDS)
def repo(request: pytest.FixtureRequest, tmp_path: Path, unique: str) -> ArtifactRepository:
    if request.param == "local":
        return LocalArtifactRepository(str(tmp_path / "store"))
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        return S3ArtifactRepository(f"s3://{bucket}/runs/{unique}", endpoint_url=endpoint)
    base_url, _ = request.getfixturevalue("proxy_server")
    return HttpArtifactRepository(f"{base_url}{PROXY_ARTIFACTS_PATH}/runs/{unique}")


@pytest.fixture
def local_tree(tmp_path: Path) -> Path:
    """src/{a.txt, sub/b.txt, sub/deeper/c.bin}"""
    src = tmp_path / "src"
    (src / "sub" / "deeper").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("bravo!")
    (src / "sub" / "deeper" / "c.bin").write_bytes(bytes(range(256)) * 4)
    return src


def read(repo: ArtifactRepository, path: str) -> bytes:
    return b"".join(repo.open_read(path))


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- writing and listing -------------------------------------------------------------------


def test_log_artifact_at_root_and_under_a_path(repo: ArtifactRepository, tmp_path: Path) -> None:
    local = tmp_path / "metrics.json"
    local.write_text('{"acc": 0.9}')
    repo.log_artifact(str(local))
    repo.log_artifact(str(local), "reports/daily")

    assert repo.list_artifacts() == [
        FileInfo("metrics.json", False, 12),
        FileInfo("reports", True, None),
    ]
    assert repo.list_artifacts("reports/daily") == [FileInfo("reports/daily/metrics.json", False, 12)]
    assert read(repo, "reports/daily/metrics.json") == b'{"acc": 0.9}'


def test_log_artifact_overwrites(repo: ArtifactRepository, tmp_path: Path) -> None:
    local = tmp_path / "x.txt"
    local.write_text("one")
    repo.log_artifact(str(local))
    local.write_text("two, longer")
    repo.log_artifact(str(local))
    assert read(repo, "x.txt") == b"two, longer"


def test_log_artifact_of_a_missing_local_file(repo: ArtifactRepository, tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    with pytest.raises(NotFound, match="nope.txt"):
        repo.log_artifact(missing)


def test_log_artifacts_keeps_nested_dirs(repo: ArtifactRepository, local_tree: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(local_tree), "model")

    assert repo.list_artifacts() == [FileInfo("model", True, None)]
    assert repo.list_artifacts("model") == [
        FileInfo("model/a.txt", False, 5),
        FileInfo("model/sub", True, None),
    ]
    assert repo.list_artifacts("model/sub/") == [
        FileInfo("model/sub/b.txt", False, 6),
        FileInfo("model/sub/deeper", True, None),
    ]
    assert repo.list_artifacts("model/sub/deeper") == [FileInfo("model/sub/deeper/c.bin", False, 1024)]


def test_log_artifacts_at_root(repo: ArtifactRepository, local_tree: Path) -> None:
    repo.log_artifacts(str(local_tree))
    assert [f.path for f in repo.list_artifacts()] == ["a.txt", "sub"]
    assert read(repo, "sub/deeper/c.bin") == bytes(range(256)) * 4


def test_log_artifacts_of_a_missing_dir(repo: ArtifactRepository, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no-such-dir"):
        repo.log_artifacts(str(tmp_path / "no-such-dir"))


def test_list_is_sorted_and_one_level(repo: ArtifactRepository) -> None:
    for name in ["b.txt", "a/z.txt", "c/d/e.txt", "a.txt", "B.txt"]:
        repo.put_bytes(b"x", name)
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [
        ("B.txt", False),
        ("a", True),
        ("a.txt", False),
        ("b.txt", False),
        ("c", True),
    ]


def test_list_of_missing_path_or_file_is_empty(repo: ArtifactRepository) -> None:
    assert repo.list_artifacts() == []
    repo.put_bytes(b"data", "dir/file.txt")
    assert repo.list_artifacts("nothing/here") == []
    assert repo.list_artifacts("dir/file.txt") == []
    # a sibling sharing a name prefix is not a child
    assert repo.list_artifacts("di") == []


def test_put_bytes_round_trip_and_normalized_paths(repo: ArtifactRepository) -> None:
    repo.put_bytes(b"hello", "a/./b//c.txt")
    assert read(repo, "a/b/c.txt") == b"hello"
    assert read(repo, "a/x/../b/c.txt") == b"hello"
    repo.put_bytes(b"", "empty.bin")
    assert read(repo, "empty.bin") == b""
    assert FileInfo("empty.bin", False, 0) in repo.list_artifacts()


def test_names_with_spaces_unicode_and_url_characters(repo: ArtifactRepository) -> None:
    name = "dir with space/ünïcode #1?x=2&y%20.txt"
    repo.put_bytes(b"odd", name)
    assert read(repo, name) == b"odd"
    assert repo.list_artifacts("dir with space") == [FileInfo(name, False, 3)]


def test_put_bytes_at_root_is_refused(repo: ArtifactRepository) -> None:
    with pytest.raises(InvalidInput, match="root"):
        repo.put_bytes(b"x", "")
    with pytest.raises(InvalidInput, match="root"):
        repo.write_stream("./", [b"x"])


# --- downloading ---------------------------------------------------------------------------


def test_download_a_file(repo: ArtifactRepository, local_tree: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(local_tree), "model")
    dst = tmp_path / "dst"
    local = repo.download_artifacts("model/sub/b.txt", str(dst))
    assert local == str(dst / "model" / "sub" / "b.txt")
    assert Path(local).read_text() == "bravo!"


def test_download_a_directory(repo: ArtifactRepository, local_tree: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(local_tree), "model")
    repo.put_bytes(b"elsewhere", "other/file.txt")
    dst = tmp_path / "dst"
    local = repo.download_artifacts("model/sub", str(dst))
    assert local == str(dst / "model" / "sub")
    assert tree(Path(local)) == {"b.txt": b"bravo!", "deeper/c.bin": bytes(range(256)) * 4}
    assert not (dst / "other").exists()


def test_download_the_root(repo: ArtifactRepository, local_tree: Path, tmp_path: Path) -> None:
    repo.log_artifacts(str(local_tree))
    local = repo.download_artifacts("", str(tmp_path / "all"))
    assert local == str(tmp_path / "all")
    assert tree(Path(local)) == tree(local_tree)


def test_download_missing(repo: ArtifactRepository, tmp_path: Path) -> None:
    repo.put_bytes(b"x", "present.txt")
    with pytest.raises(NotFound, match="absent"):
        repo.download_artifacts("absent", str(tmp_path / "dst"))


# --- streaming -----------------------------------------------------------------------------


def test_stream_round_trip_large_file(repo: ArtifactRepository) -> None:
    # 9 MiB in uneven chunks: multipart on S3, chunked transfer encoding over HTTP.
    pieces = [os.urandom(1_000_003) for _ in range(9)] + [os.urandom(437_000)]

    def produce() -> Iterator[bytes]:
        yield from pieces

    repo.write_stream("big/blob.bin", produce())
    chunks = list(repo.open_read("big/blob.bin"))
    assert len(chunks) > 1, "open_read must stream in chunks"
    assert b"".join(chunks) == b"".join(pieces)
    assert repo.list_artifacts("big") == [FileInfo("big/blob.bin", False, sum(map(len, pieces)))]


def test_failed_stream_stores_nothing(repo: ArtifactRepository) -> None:
    class Boom(Exception):
        pass

    def produce() -> Iterator[bytes]:
        yield b"a" * 1000
        raise Boom("producer failed")

    with pytest.raises(Exception):  # noqa: B017 - the transport may wrap the producer's error
        repo.write_stream("partial.bin", produce())
    assert repo.list_artifacts() == []
    with pytest.raises(NotFound):
        repo.open_read("partial.bin")


def test_open_read_missing_raises_before_iterating(repo: ArtifactRepository) -> None:
    repo.put_bytes(b"x", "dir/file.txt")
    with pytest.raises(NotFound, match="missing.txt"):
        repo.open_read("missing.txt")
    with pytest.raises(NotFound):
        repo.open_read("dir")


def test_open_read_can_be_closed_early(repo: ArtifactRepository) -> None:
    repo.put_bytes(os.urandom(3 * 1024 * 1024), "three.bin")
    chunks = repo.open_read("three.bin")
    assert next(iter(chunks))
    getattr(chunks, "close", lambda: None)()
    assert len(read(repo, "three.bin")) == 3 * 1024 * 1024


# --- deleting ------------------------------------------------------------------------------


def test_delete_a_file_and_a_directory(repo: ArtifactRepository, local_tree: Path) -> None:
    repo.log_artifacts(str(local_tree), "model")
    repo.put_bytes(b"keep", "model2/keep.txt")  # shares the name prefix, must survive

    repo.delete_artifacts("model/a.txt")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/sub"]

    repo.delete_artifacts("model")
    assert repo.list_artifacts() == [FileInfo("model2", True, None)]
    assert read(repo, "model2/keep.txt") == b"keep"


def test_delete_everything_and_missing_paths(repo: ArtifactRepository, local_tree: Path) -> None:
    repo.log_artifacts(str(local_tree))
    repo.delete_artifacts("not/there")  # a no-op
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    repo.delete_artifacts()  # again, on an empty root
    repo.put_bytes(b"again", "after.txt")  # the root is usable after deletion
    assert read(repo, "after.txt") == b"again"


# --- path safety ---------------------------------------------------------------------------

BAD_PATHS = ["../x", "/etc/passwd", "a/../../b", "..", "a\\..\\..\\b", "C:/windows", "a\x00b"]


@pytest.mark.parametrize("bad", BAD_PATHS)
def test_every_method_rejects_escaping_paths(
    repo: ArtifactRepository, bad: str, tmp_path: Path, local_tree: Path
) -> None:
    local_file = local_tree / "a.txt"
    calls = [
        lambda: repo.log_artifact(str(local_file), bad),
        lambda: repo.log_artifacts(str(local_tree), bad),
        lambda: repo.put_bytes(b"x", bad),
        lambda: repo.list_artifacts(bad),
        lambda: repo.download_artifacts(bad, str(tmp_path / "dst")),
        lambda: repo.open_read(bad),
        lambda: repo.write_stream(bad, [b"x"]),
        lambda: repo.delete_artifacts(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidInput) as info:
            call()
        assert repr(bad) in str(info.value)
    assert not (tmp_path / "x").exists() and not (tmp_path / "b").exists()


def test_read_head_reads_a_capped_prefix(repo: ArtifactRepository) -> None:
    long = bytes(range(256)) * 100
    repo.put_bytes(b"", "empty.txt")
    repo.put_bytes(b"abc", "short.txt")
    repo.put_bytes(long, "dir/long.bin")
    assert repo.read_head("empty.txt", 10) == (b"", False)
    assert repo.read_head("short.txt", 3) == (b"abc", False)
    assert repo.read_head("short.txt", 2) == (b"ab", True)
    assert repo.read_head("short.txt", 0) == (b"", True)
    assert repo.read_head("dir/long.bin", 1000) == (long[:1000], True)
    assert repo.read_head("dir/long.bin", len(long)) == (long, False)
    with pytest.raises(NotFound):
        repo.read_head("missing.txt", 10)
    with pytest.raises(NotFound):
        repo.read_head("dir", 10)  # a directory is not a file
    with pytest.raises(InvalidInput):
        repo.read_head("../escape.txt", 10)
