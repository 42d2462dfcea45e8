from __future__ import annotations

from pathlib import Path

import pytest

from trackflow.artifacts import (
    HttpArtifactRepository,
    LocalArtifactRepository,
    S3ArtifactRepository,
    get_artifact_repository,
)
from trackflow.errors import InvalidInput


def test_plain_paths_and_file_uris_are_local(tmp_path: Path) -> None:
    for uri in [str(tmp_path / "a"), f"file://{tmp_path}/a", f"file:{tmp_path}/a"]:
        repo = get_artifact_repository(uri)
        assert isinstance(repo, LocalArtifactRepository)
        assert repo.root == str(tmp_path / "a")


def test_relative_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    repo = get_artifact_repository("mlruns/1")
    assert isinstance(repo, LocalArtifactRepository)
    assert repo.root == str(tmp_path / "mlruns" / "1")


def test_file_uri_with_remote_host_is_refused() -> None:
    with pytest.raises(InvalidInput, match="remote host"):
        get_artifact_repository("file://otherhost/data")


def test_s3(s3_endpoint: str) -> None:
    repo = get_artifact_repository("s3://bucket/some/prefix/")
    assert isinstance(repo, S3ArtifactRepository)
    assert (repo.bucket, repo.prefix) == ("bucket", "some/prefix")


def test_s3_uri_without_bucket_or_with_escape(s3_endpoint: str) -> None:
    with pytest.raises(InvalidInput, match="s3:///x"):
        get_artifact_repository("s3:///x")
    with pytest.raises(InvalidInput, match="escapes"):
        get_artifact_repository("s3://bucket/../x")


def test_http() -> None:
    url = "http://h:5000/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts"
    repo = get_artifact_repository(url)
    assert isinstance(repo, HttpArtifactRepository)
    assert repo.base_url == url
    assert repo.list_url == "http://h:5000/api/2.0/mlflow-artifacts/artifacts"
    assert repo.root == "1/abc/artifacts"


def test_http_url_that_is_not_an_artifact_endpoint() -> None:
    with pytest.raises(InvalidInput, match="http://h:5000/files"):
        get_artifact_repository("http://h:5000/files")


def test_mlflow_artifacts_through_the_tracking_server() -> None:
    repo = get_artifact_repository(
        "mlflow-artifacts:/1/run 1/artifacts", tracking_base_url="https://track.example:8443/prefix/"
    )
    assert isinstance(repo, HttpArtifactRepository)
    assert repo.base_url == (
        "https://track.example:8443/prefix/api/2.0/mlflow-artifacts/artifacts/1/run%201/artifacts"
    )
    assert repo.root == "1/run 1/artifacts"


def test_mlflow_artifacts_with_a_host_uses_that_host() -> None:
    repo = get_artifact_repository("mlflow-artifacts://other:5001/1/r", tracking_base_url="http://h:5000")
    assert isinstance(repo, HttpArtifactRepository)
    assert repo.base_url == "http://other:5001/api/2.0/mlflow-artifacts/artifacts/1/r"


def test_mlflow_artifacts_resolved_against_a_local_destination(tmp_path: Path) -> None:
    for uri in ["mlflow-artifacts:/1/r/artifacts", "mlflow-artifacts:///1/r/artifacts"]:
        repo = get_artifact_repository(uri, proxy_destination=str(tmp_path))
        assert isinstance(repo, LocalArtifactRepository)
        assert repo.root == str(tmp_path / "1" / "r" / "artifacts")
    repo = get_artifact_repository("mlflow-artifacts:/", proxy_destination=f"file://{tmp_path}")
    assert isinstance(repo, LocalArtifactRepository)
    assert repo.root == str(tmp_path)


def test_mlflow_artifacts_resolved_against_an_s3_destination(s3_endpoint: str) -> None:
    repo = get_artifact_repository("mlflow-artifacts:/1/r", proxy_destination="s3://bkt/root/")
    assert isinstance(repo, S3ArtifactRepository)
    assert (repo.bucket, repo.prefix) == ("bkt", "root/1/r")


def test_mlflow_artifacts_needs_a_server_or_destination() -> None:
    with pytest.raises(InvalidInput, match="mlflow-artifacts:/1/r"):
        get_artifact_repository("mlflow-artifacts:/1/r")


def test_mlflow_artifacts_path_escape_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="escapes"):
        get_artifact_repository("mlflow-artifacts:/../../etc", proxy_destination=str(tmp_path))


@pytest.mark.parametrize("uri", ["ftp://host/x", "gs://bucket/x", "hdfs:/x"])
def test_unknown_scheme(uri: str) -> None:
    with pytest.raises(InvalidInput, match="unsupported artifact URI scheme"):
        get_artifact_repository(uri)


def test_empty_uri() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        get_artifact_repository("")


def test_mlflow_artifacts_end_to_end_through_the_proxy(
    proxy_server: tuple[str, str], unique: str, tmp_path: Path
) -> None:
    base_url, storage = proxy_server
    client_repo = get_artifact_repository(f"mlflow-artifacts:/e2e/{unique}", tracking_base_url=base_url)
    client_repo.put_bytes(b"via proxy", "out/result.txt")
    # On the server side the same URI resolves to the storage directly.
    server_repo = get_artifact_repository(f"mlflow-artifacts:/e2e/{unique}", proxy_destination=storage)
    assert b"".join(server_repo.open_read("out/result.txt")) == b"via proxy"
    assert (Path(storage) / "e2e" / unique / "out" / "result.txt").read_bytes() == b"via proxy"
