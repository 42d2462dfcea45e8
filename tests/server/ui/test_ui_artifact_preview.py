"""The artifact browser's routes over HTTP (a real server on a free port): one directory level at a
time, previews with their caps, refused paths, and the served file's sandboxing headers. Then the
listing and preview functions on each artifact store: local, S3 (moto) and the HTTP proxy."""

from __future__ import annotations

import json
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from artifact_fixtures import (
    BIG_TEXT_BYTES,
    CONFIG,
    CSV_ROWS,
    PARQUET_ROWS,
    log_sklearn_model,
    parquet_bytes,
    png_bytes,
    save_sklearn_model,
    write_tree,
)

import trackflow
from trackflow.artifacts import PROXY_ARTIFACTS_PATH, ArtifactRepository, LocalArtifactRepository
from trackflow.errors import InvalidInput, NotFound
from trackflow.server.ui import artifact_browser, artifact_readers


@dataclass
class Logged:
    server: str
    run_id: str
    model_id: str  # logged with log_model: its files are at the logged model's location
    other_model_id: str  # a logged model of another run

    def api(self, what: str, path: str, **params: str) -> requests.Response:
        return requests.get(f"{self.server}/api/v1/ui/runs/{self.run_id}/artifacts/{what}",
                            params={"path": path, **params}, timeout=30)

    def preview(self, path: str, **params: str) -> dict[str, Any]:
        answer = self.api("preview", path, **params)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture(scope="module")
def logged(running_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Logged:
    client = trackflow.Client(str(running_server))
    experiment_id = client.create_experiment(f"artifact-api-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(experiment_id, run_name="files").info.run_id
    client.log_artifacts(run_id, write_tree(tmp_path_factory.mktemp("files")))
    client.log_artifacts(run_id, save_sklearn_model(tmp_path_factory.mktemp("m") / "model"), artifact_path="model")
    model_id = log_sklearn_model(str(running_server), run_id)
    other_run = client.create_run(experiment_id, run_name="other").info.run_id
    return Logged(str(running_server), run_id, model_id, log_sklearn_model(str(running_server), other_run))


def test_listing_is_one_level_directories_first(logged: Logged) -> None:
    root = logged.api("list", "").json()
    names = [(e["name"], e["is_dir"]) for e in root["entries"]]
    assert names == [("config", True), ("data", True), ("model", True), ("plots", True),
                     ("big.log", False), ("report.html", False), ("weights.bin", False)]
    assert root["truncated"] is False
    nested = logged.api("list", "data/nested").json()
    assert [e["path"] for e in nested["entries"]] == ["data/nested/deeper"]
    weights = next(e for e in root["entries"] if e["name"] == "weights.bin")
    assert weights["file_size"] == 2048 and weights["download_url"].endswith("/weights.bin?download=1")


@pytest.mark.parametrize("path", ["../secret", "a/../../b", "/etc/passwd", "C:/x", "a\\..\\b", "a\x00b"])
def test_paths_leaving_the_root_are_refused_with_400(logged: Logged, path: str) -> None:
    for what in ("list", "preview"):
        answer = logged.api(what, path)
        assert answer.status_code == 400, (what, path, answer.text)
        assert "artifact path" in answer.json()["message"]


def test_missing_paths_and_runs_answer_404(logged: Logged) -> None:
    assert logged.api("preview", "nope.txt").status_code == 404
    assert logged.api("preview", "config/nope/deeper.json").status_code == 404
    assert logged.api("list", "nope").status_code == 404
    assert logged.api("list", "big.log").status_code == 404  # a file is not a directory
    other = requests.get(f"{logged.server}/api/v1/ui/runs/{uuid.uuid4().hex}/artifacts/preview",
                         params={"path": "big.log"}, timeout=30)
    assert other.status_code == 404
    too_long = logged.api("preview", "a" * 5000)
    assert too_long.status_code == 400


def test_text_previews_are_capped_and_json_is_pretty(logged: Logged) -> None:
    big = logged.preview("big.log")
    assert big["kind"] == "text" and big["truncated"] is True and big["size"] == BIG_TEXT_BYTES
    assert len(big["text"].encode()) == artifact_readers.TEXT_MAX_BYTES

    params = logged.preview("config/params.json")
    assert params["kind"] == "json" and params["text"] == json.dumps(CONFIG, indent=2, ensure_ascii=False)
    broken = logged.preview("config/broken.json")
    assert broken["kind"] == "json" and broken["text"] == '{"unclosed": ' and "Not valid JSON" in broken["message"]
    settings = logged.preview("config/settings.yaml")
    assert settings["kind"] == "yaml" and "warmup: 100" in settings["text"]


def test_tables_show_the_first_rows(logged: Logged) -> None:
    csv_preview = logged.preview("data/metrics.csv")
    assert csv_preview["kind"] == "table" and csv_preview["columns"] == ["step", "loss", "label"]
    assert len(csv_preview["rows"]) == artifact_readers.TABLE_ROWS < CSV_ROWS
    assert csv_preview["rows"][0] == ["0", "1.000000", "row-0"] and csv_preview["truncated"] is True

    parquet = logged.preview("data/frame.parquet")
    assert parquet["kind"] == "table" and parquet["columns"] == ["id", "score", "tag"]
    assert parquet["total_rows"] == PARQUET_ROWS and len(parquet["rows"]) == artifact_readers.TABLE_ROWS
    assert parquet["rows"][3] == ["3", "0.3", "t3"]


def test_model_directory_and_mlmodel_show_flavors_and_signature(logged: Logged) -> None:
    for path in ("model", "model/MLmodel"):
        preview = logged.preview(path)
        assert preview["kind"] == "model", preview
        model = preview["model"]
        assert {"python_function", "sklearn"} <= set(model["flavors"]) and model["has_signature"] is True
        assert [(c["name"], c["type"]) for c in model["inputs"]] == [("sepal_length", "double"),
                                                                    ("petal_width", "double")]
        assert [c["type"] for c in model["outputs"]] == ["long"]
    assert logged.preview("model")["entries"] >= 3
    assert logged.preview("data")["kind"] == "directory"


def test_a_logged_models_files_are_browsed_through_its_run(logged: Logged) -> None:
    listing = logged.api("list", "", model_id=logged.model_id).json()
    names = [e["name"] for e in listing["entries"]]
    assert "MLmodel" in names and all(e["model_id"] == logged.model_id for e in listing["entries"])
    mlmodel = next(e for e in listing["entries"] if e["name"] == "MLmodel")
    assert mlmodel["download_url"].endswith(f"/MLmodel?model_id={logged.model_id}&download=1")
    summary = logged.preview("", model_id=logged.model_id)
    assert summary["kind"] == "model" and summary["model"]["run_id"] == logged.run_id
    assert [c["name"] for c in summary["model"]["inputs"]] == ["sepal_length", "petal_width"]
    download = requests.get(logged.server + mlmodel["download_url"], timeout=30)
    assert download.status_code == 200 and b"flavors:" in download.content

    # another run's model, or a made-up one, is not reachable through this run
    for model_id in (logged.other_model_id, "m-" + "0" * 32):
        assert logged.api("list", "", model_id=model_id).status_code == 404
        assert logged.api("preview", "MLmodel", model_id=model_id).status_code == 404
        raw = requests.get(f"{logged.server}/runs/{logged.run_id}/artifacts/MLmodel", params={"model_id": model_id},
                           timeout=30)
        assert raw.status_code == 404
    run_page = requests.get(f"{logged.server}/api/v1/ui/runs/{logged.run_id}", timeout=30).json()
    assert [(m["name"], m["model_id"]) for m in run_page["logged_models"]] == [("classifier", logged.model_id)]


def test_images_html_and_binaries(logged: Logged) -> None:
    png = logged.preview("plots/curve.png")
    assert png["kind"] == "image" and png["raw_url"].endswith("/plots/curve.png")
    html = logged.preview("report.html")
    assert html["kind"] == "html" and html["raw_url"].endswith("/report.html")
    binary = logged.preview("weights.bin")
    assert binary["kind"] == "none" and binary["text"] is None and binary["download_url"]


def test_served_html_and_svg_are_sandboxed_and_downloads_are_attachments(logged: Logged) -> None:
    base = f"{logged.server}/runs/{logged.run_id}/artifacts"
    for name, media_type in (("report.html", "text/html"), ("plots/shape.svg", "image/svg+xml")):
        answer = requests.get(f"{base}/{name}", timeout=30)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type)
        csp = answer.headers["content-security-policy"]
        assert csp.startswith("sandbox;") and "default-src 'none'" in csp and "allow-scripts" not in csp
        assert answer.headers["content-disposition"].startswith("inline")
    download = requests.get(f"{base}/plots/curve.png", params={"download": "1"}, timeout=30)
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.headers["content-type"] == "application/octet-stream" and download.content == png_bytes()
    assert requests.get(f"{base}/..%2F..%2Fetc%2Fpasswd", timeout=30).status_code == 400
    assert requests.get(f"{base}/big.log", params={"download": "maybe"}, timeout=30).status_code == 400


# The same functions on each artifact store ------------------------------------------------
@pytest.fixture(params=["local", "s3", "http"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ArtifactRepository:
    prefix = f"browse-{uuid.uuid4().hex[:10]}"
    repo: ArtifactRepository
    if request.param == "local":
        repo = LocalArtifactRepository(str(tmp_path / "store"))
    elif request.param == "s3":
        from trackflow.artifacts import S3ArtifactRepository

        endpoint = request.getfixturevalue("s3_endpoint")
        repo = S3ArtifactRepository(f"s3://{request.getfixturevalue('s3_bucket')}/{prefix}", endpoint_url=endpoint)
    else:  # the trackflow server's own proxied-artifacts API
        server = request.getfixturevalue("running_server")
        from trackflow.artifacts import HttpArtifactRepository

        repo = HttpArtifactRepository(f"{server}{PROXY_ARTIFACTS_PATH}/{prefix}")
    repo.put_bytes(b"a,b\n1,2\n" * 2, "tables/t.csv")
    repo.put_bytes(parquet_bytes(), "tables/deep/f.parquet")
    repo.put_bytes(b"x" * (artifact_readers.TEXT_MAX_BYTES + 5000), "logs/run.log")
    repo.put_bytes(b"flavors:\n  python_function: {loader_module: m}\n", "m/MLmodel")
    return repo


def test_browsing_works_alike_on_every_store(store: ArtifactRepository) -> None:
    root = artifact_browser.list_level(store, "r1", "")
    assert [(e.name, e.is_dir) for e in root.entries] == [("logs", True), ("m", True), ("tables", True)]
    tables = artifact_browser.list_level(store, "r1", "tables")
    assert [(e.path, e.file_size) for e in tables.entries] == [("tables/deep", None), ("tables/t.csv", 16)]
    with pytest.raises(NotFound):
        artifact_browser.list_level(store, "r1", "tables/t.csv")
    with pytest.raises(InvalidInput):
        artifact_browser.preview(store, "r1", "../up")
    with pytest.raises(NotFound):
        artifact_browser.preview(store, "r1", "tables/none.csv")

    log = artifact_browser.preview(store, "r1", "logs/run.log")
    assert log.truncated and log.text is not None and len(log.text) == artifact_readers.TEXT_MAX_BYTES
    csv_preview = artifact_browser.preview(store, "r1", "tables/t.csv")
    assert csv_preview.rows == [["1", "2"], ["a", "b"], ["1", "2"]] and csv_preview.total_rows == 3
    parquet = artifact_browser.preview(store, "r1", "tables/deep/f.parquet")
    assert parquet.total_rows == PARQUET_ROWS and len(parquet.rows) == artifact_readers.TABLE_ROWS
    model = artifact_browser.preview(store, "r1", "m")
    assert model.kind == "model" and model.model is not None and list(model.model.flavors) == ["python_function"]
    assert model.model.has_signature is False


def test_parquet_without_pyarrow_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = LocalArtifactRepository(str(tmp_path))
    repo.put_bytes(parquet_bytes(), "f.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as on a server installed without pyarrow
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    preview = artifact_browser.preview(repo, "r1", "f.parquet")
    assert preview.kind == "none" and preview.rows == []
    assert preview.message is not None and "needs pyarrow" in preview.message and preview.download_url


def test_a_server_storing_artifacts_in_s3_browses_them(
    s3_endpoint: str, s3_bucket: str, trackflow_server: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    with trackflow_server(
        tmp_path_factory.mktemp("s3-browse"),
        artifacts_destination=f"s3://{s3_bucket}/browse-{uuid.uuid4().hex[:8]}",
        env={"MLFLOW_S3_ENDPOINT_URL": s3_endpoint},
    ) as url:
        client = trackflow.Client(url)
        run_id = client.create_run(client.create_experiment("s3-browse")).info.run_id
        client.log_artifacts(run_id, write_tree(tmp_path_factory.mktemp("s3-files")))
        on_s3 = Logged(str(url), run_id, "", "")
        assert [e["name"] for e in on_s3.api("list", "data").json()["entries"]] == [
            "nested", "frame.parquet", "metrics.csv"]
        big = on_s3.preview("big.log")
        assert big["truncated"] and len(big["text"]) == artifact_readers.TEXT_MAX_BYTES
        assert on_s3.preview("data/frame.parquet")["total_rows"] == PARQUET_ROWS
        assert on_s3.api("preview", "data/none.csv").status_code == 404
        html = requests.get(f"{url}/runs/{run_id}/artifacts/report.html", timeout=30)
        assert html.headers["content-security-policy"].startswith("sandbox;")
        assert "script did not run" in html.text
