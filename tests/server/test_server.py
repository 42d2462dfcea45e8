"""The server process itself: health, OpenAPI, and artifacts proxied to a real S3-compatible store."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from trackflow.tracking.client import Client
from trackflow.tracking.gc import collect_garbage, plan_garbage


def test_health_version_and_openapi(running_server: str) -> None:
    assert requests.get(f"{running_server}/health", timeout=10).text == "OK"
    assert requests.get(f"{running_server}/version", timeout=10).ok
    spec = requests.get(f"{running_server}/api/v1/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    for path in ("/api/v1/experiments", "/api/v1/runs/search", "/api/v1/runs/{run_id}/batch"):
        assert path in paths, sorted(paths)
    assert not any(p.startswith("/api/2.0") for p in paths)


def test_unknown_route_is_json_404(running_server: str) -> None:
    response = requests.get(f"{running_server}/api/v1/no-such-thing", timeout=10)
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_artifacts_proxied_to_s3(
    s3_endpoint: str, s3_bucket: str, trackflow_server: Any, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """A remote client needs no S3 credentials: the server holds them and streams bytes through."""
    boto3 = pytest.importorskip("boto3")
    prefix = f"proxy-{uuid.uuid4().hex[:8]}"
    with trackflow_server(
        tmp_path_factory.mktemp("s3-server"),
        artifacts_destination=f"s3://{s3_bucket}/{prefix}",
        env={"MLFLOW_S3_ENDPOINT_URL": s3_endpoint},
    ) as url:
        client = Client(url)
        experiment_id = client.create_experiment("s3-artifacts")
        run = client.create_run(experiment_id)
        run_id = run.info.run_id
        payload = bytes(range(256)) * 4096  # 1 MiB: more than one streamed chunk
        (tmp_path / "blob.bin").write_bytes(payload)
        client.log_artifact(run_id, tmp_path / "blob.bin", artifact_path="data")
        client.log_dict(run_id, {"a": 1}, "cfg.json")

        assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "data")] == [
            ("data/blob.bin", len(payload))
        ]
        downloaded = Path(client.download_artifacts(run_id, "data/blob.bin", str(tmp_path / "dl")))
        assert downloaded.read_bytes() == payload

        s3 = boto3.client("s3", endpoint_url=s3_endpoint)
        key = f"{prefix}/{experiment_id}/{run_id}/artifacts/data/blob.bin"
        assert s3.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == payload

        client.delete_run(run_id)
        collect_garbage(client, plan_garbage(client, None))
        listed = s3.list_objects_v2(Bucket=s3_bucket, Prefix=f"{prefix}/{experiment_id}/{run_id}/")
        assert listed.get("KeyCount", 0) == 0
