"""Behaviour specific to one backend, beyond the shared contract."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import pytest
import requests

from trackflow.artifacts import (
    PROXY_ARTIFACTS_PATH,
    HttpArtifactRepository,
    LocalArtifactRepository,
    S3ArtifactRepository,
)
from trackflow.errors import InvalidInput, NotFound, TrackflowError

# --- local ---------------------------------------------------------------------------------


def test_local_refuses_a_symlink_leaving_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(outside)
    repo = LocalArtifactRepository(str(root))
    with pytest.raises(InvalidInput, match="outside the artifact root"):
        repo.open_read("link/secret.txt")
    with pytest.raises(InvalidInput, match="outside the artifact root"):
        repo.put_bytes(b"x", "link/new.txt")
    assert not (outside / "new.txt").exists()


def test_local_root_is_created_on_first_write(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(f"file://{tmp_path}/deep/root")
    assert repo.list_artifacts() == []
    repo.put_bytes(b"x", "f.txt")
    assert (tmp_path / "deep" / "root" / "f.txt").read_bytes() == b"x"


def test_local_leaves_no_temporary_files(tmp_path: Path) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    repo.write_stream("a/b.bin", [b"1", b"2"])
    repo.put_bytes(b"3", "a/c.bin")
    assert sorted(os.listdir(tmp_path / "a")) == ["b.bin", "c.bin"]


# --- S3 ------------------------------------------------------------------------------------


def test_s3_lists_and_deletes_more_than_one_page(s3_endpoint: str, s3_bucket: str, unique: str) -> None:
    repo = S3ArtifactRepository(f"s3://{s3_bucket}/many/{unique}", endpoint_url=s3_endpoint)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    for i in range(1005):  # list_objects_v2 pages and delete_objects batches hold 1000
        client.put_object(Bucket=s3_bucket, Key=f"many/{unique}/d/f{i:04d}", Body=b"x")
    listed = repo.list_artifacts("d")
    assert len(listed) == 1005
    assert listed[0].path == "d/f0000" and listed[-1].path == "d/f1004"
    repo.delete_artifacts()
    assert repo.list_artifacts() == []
    assert client.list_objects_v2(Bucket=s3_bucket, Prefix=f"many/{unique}/").get("KeyCount") == 0


def test_s3_bucket_root_without_prefix(s3_endpoint: str, unique: str) -> None:
    bucket = f"bare-{unique}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    repo = S3ArtifactRepository(f"s3://{bucket}", endpoint_url=s3_endpoint)
    repo.put_bytes(b"top", "top.txt")
    repo.put_bytes(b"nested", "d/n.txt")
    assert [f.path for f in repo.list_artifacts()] == ["d", "top.txt"]
    assert repo.list_artifacts("d")[0].path == "d/n.txt"
    repo.delete_artifacts()
    assert repo.list_artifacts() == []


def test_s3_ignores_folder_marker_objects(s3_endpoint: str, s3_bucket: str, unique: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key=f"markers/{unique}/dir/", Body=b"")
    client.put_object(Bucket=s3_bucket, Key=f"markers/{unique}/dir/f.txt", Body=b"f")
    repo = S3ArtifactRepository(f"s3://{s3_bucket}/markers/{unique}", endpoint_url=s3_endpoint)
    assert [f.path for f in repo.list_artifacts("dir")] == ["dir/f.txt"]


def test_s3_endpoint_from_environment(
    s3_endpoint: str, s3_bucket: str, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_endpoint)
    repo = S3ArtifactRepository(f"s3://{s3_bucket}/env/{unique}")
    assert repo.endpoint_url == s3_endpoint
    repo.put_bytes(b"env", "e.txt")
    assert b"".join(repo.open_read("e.txt")) == b"env"
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    assert S3ArtifactRepository(f"s3://{s3_bucket}/env/{unique}").endpoint_url == s3_endpoint


def test_s3_missing_bucket_is_not_found(s3_endpoint: str, unique: str) -> None:
    repo = S3ArtifactRepository(f"s3://no-such-bucket-{unique}/x", endpoint_url=s3_endpoint)
    with pytest.raises(NotFound, match=f"no-such-bucket-{unique}"):
        repo.list_artifacts()
    with pytest.raises(NotFound, match=f"no-such-bucket-{unique}"):
        repo.put_bytes(b"x", "f")


# --- HTTP ----------------------------------------------------------------------------------


def test_http_server_400_becomes_invalid_input_with_its_message(proxy_server: tuple[str, str]) -> None:
    base_url, _ = proxy_server
    # The client does not police the root it was given; the server does.
    repo = HttpArtifactRepository(f"{base_url}{PROXY_ARTIFACTS_PATH}/x/../../etc")
    with pytest.raises(InvalidInput, match=r"x/\.\./\.\./etc.*escapes"):
        repo.list_artifacts()


def test_http_404_carries_the_server_message(proxy_server: tuple[str, str], unique: str) -> None:
    base_url, _ = proxy_server
    repo = HttpArtifactRepository(f"{base_url}{PROXY_ARTIFACTS_PATH}/{unique}")
    with pytest.raises(NotFound, match="nothing.bin"):
        repo.open_read("nothing.bin")


def test_http_uses_the_given_session(proxy_server: tuple[str, str], unique: str) -> None:
    base_url, _ = proxy_server
    seen: list[str] = []
    session = requests.Session()
    session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.method))
    repo = HttpArtifactRepository(f"{base_url}{PROXY_ARTIFACTS_PATH}/{unique}", session=session)
    repo.put_bytes(b"x", "f.txt")
    repo.list_artifacts()
    assert seen == ["PUT", "GET"]


def test_http_unreachable_server_is_a_clear_error(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}{PROXY_ARTIFACTS_PATH}/x"
    repo = HttpArtifactRepository(url, timeout=5)
    with pytest.raises(TrackflowError, match="cannot reach the artifact server"):
        repo.list_artifacts()
