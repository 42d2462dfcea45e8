"""Run artifacts through trackflow.Client and the fluent API, and `gc`, on every backend.

On the remote backend every byte goes through the server's artifact proxy; the tests also
look at the artifact directory on disk to prove where files land and that gc removes them.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from trackflow.errors import AlreadyExists, InvalidInput, NotFound
from trackflow.tracking.gc import collect_garbage, plan_garbage


def unique(prefix: str = "exp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def run_dir(backend: Any, run: Any) -> Path:
    """Where a run's artifacts sit on disk: <artifacts destination>/<experiment id>/<run id>/artifacts."""
    return backend.artifacts_dir / run.info.experiment_id / run.info.run_id / "artifacts"


def test_log_list_download_files_and_dirs(
    client: Any, experiment_id: str, tracking_backend: Any, tmp_path: Path
) -> None:
    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    source = tmp_path / "src"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("alpha")
    (source / "sub" / "b.bin").write_bytes(bytes(range(256)) * 10)
    single = tmp_path / "model.pkl"
    single.write_bytes(b"\x00pickle\xff")

    client.log_artifact(run_id, single)
    client.log_artifact(run_id, single, artifact_path="models/v1")
    client.log_artifacts(run_id, source, artifact_path="data")
    client.log_artifact(run_id, source)  # a directory keeps its name

    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir) for f in top] == [("data", True), ("model.pkl", False), ("models", True), ("src", True)]
    assert next(f for f in top if f.path == "model.pkl").file_size == len(single.read_bytes())
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "data/sub")] == [("data/sub/b.bin", 2560)]
    assert [f.path for f in client.list_artifacts(run_id, "data")] == ["data/a.txt", "data/sub"]
    assert client.list_artifacts(run_id, "missing") == []

    file_path = Path(client.download_artifacts(run_id, "models/v1/model.pkl", str(tmp_path / "dl1")))
    assert file_path.read_bytes() == single.read_bytes()
    folder = Path(client.download_artifacts(run_id, "data", str(tmp_path / "dl2")))
    assert (folder / "a.txt").read_text() == "alpha"
    assert (folder / "sub" / "b.bin").read_bytes() == (source / "sub" / "b.bin").read_bytes()
    everything = Path(client.download_artifacts(run_id, "", str(tmp_path / "dl3")))
    assert (everything / "src" / "sub" / "b.bin").is_file()
    with pytest.raises(NotFound):
        client.download_artifacts(run_id, "nothing-here.txt", str(tmp_path / "dl4"))

    on_disk = run_dir(tracking_backend, run)
    assert (on_disk / "models" / "v1" / "model.pkl").read_bytes() == single.read_bytes()
    assert (on_disk / "data" / "sub" / "b.bin").is_file()


def test_log_dict_text_image_figure(client: Any, experiment_id: str, tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from PIL import Image

    run_id = client.create_run(experiment_id).info.run_id
    client.log_dict(run_id, {"lr": 0.1, "layers": [1, 2]}, "config/params.json")
    client.log_dict(run_id, {"name": "yaml", "n": 3}, "config/params.yaml")
    client.log_text(run_id, "héllo\nworld", "notes.txt")
    client.log_image(run_id, np.zeros((8, 6, 3), dtype="uint8") + 200, "images/solid.png")
    client.log_image(run_id, np.linspace(0, 1, 20).reshape(4, 5), "images/gray.png")
    figure = Figure()
    figure.add_subplot().plot([1, 2, 3], [3, 1, 2])
    client.log_figure(run_id, figure, "plots/line.png")

    dst = tmp_path / "out"
    config = Path(client.download_artifacts(run_id, "config", str(dst)))
    assert json.loads((config / "params.json").read_text()) == {"lr": 0.1, "layers": [1, 2]}
    assert "name: yaml" in (config / "params.yaml").read_text()
    assert Path(client.download_artifacts(run_id, "notes.txt", str(dst))).read_text(encoding="utf-8") == "héllo\nworld"
    with Image.open(client.download_artifacts(run_id, "images/solid.png", str(dst))) as image:
        assert image.size == (6, 8) and image.getpixel((0, 0)) == (200, 200, 200)
    with Image.open(client.download_artifacts(run_id, "images/gray.png", str(dst))) as image:
        assert image.size == (5, 4)
    plot = Path(client.download_artifacts(run_id, "plots/line.png", str(dst)))
    assert plot.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(InvalidInput, match="dimensional"):
        client.log_image(run_id, np.zeros((2, 2, 2, 2)), "bad.png")
    with pytest.raises(InvalidInput, match="figure"):
        client.log_figure(run_id, object(), "bad.png")


def test_fluent_artifacts(fluent: Any, client: Any, tmp_path: Path) -> None:
    fluent.set_experiment(unique())
    note = tmp_path / "note.md"
    note.write_text("# hi")
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.csv").write_text("a,b\n1,2\n")
    with fluent.start_run() as run:
        fluent.log_artifact(str(note))
        fluent.log_artifacts(str(folder), "tables")
        fluent.log_dict({"k": "v"}, "d.json")
        fluent.log_text("text", "t/t.txt")
    paths = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert paths == {"note.md", "tables", "d.json", "t"}


@pytest.mark.parametrize("bad", ["../escape.txt", "a/../../escape.txt", "/etc/passwd", "a\\..\\b.txt", "nul\x00.txt"])
def test_artifact_paths_escaping_the_run_root_are_rejected(
    client: Any, experiment_id: str, tracking_backend: Any, tmp_path: Path, bad: str
) -> None:
    run = client.create_run(experiment_id)
    local = tmp_path / "f.txt"
    local.write_text("x")
    with pytest.raises(InvalidInput):
        client.log_text(run.info.run_id, "escaped", bad)
    with pytest.raises(InvalidInput):
        client.log_artifact(run.info.run_id, local, artifact_path=bad)
    with pytest.raises(InvalidInput):
        client.list_artifacts(run.info.run_id, bad)
    with pytest.raises(InvalidInput):
        client.download_artifacts(run.info.run_id, bad, str(tmp_path / "dl"))
    assert not (run_dir(tracking_backend, run).parent / "escape.txt").exists()
    assert not any(p.name == "escape.txt" for p in tracking_backend.artifacts_dir.rglob("escape.txt"))
    assert client.list_artifacts(run.info.run_id) == []


def test_missing_local_files(client: Any, experiment_id: str, tmp_path: Path) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(NotFound, match="nope"):
        client.log_artifact(run_id, tmp_path / "nope.txt")
    with pytest.raises(NotFound, match="nope"):
        client.log_artifacts(run_id, tmp_path / "nope")


# Garbage collection ----------------------------------------------------------------------
def test_gc_purges_deleted_runs_and_their_artifacts(client: Any, experiment_id: str, tracking_backend: Any) -> None:
    doomed = client.create_run(experiment_id)
    kept = client.create_run(experiment_id)
    for run in (doomed, kept):
        client.log_text(run.info.run_id, "data", "f.txt")
        client.log_metric(run.info.run_id, "m", 1.0)
    client.delete_run(doomed.info.run_id)
    assert run_dir(tracking_backend, doomed).is_dir()

    # Deleted just now: an --older-than of a day leaves it alone.
    assert doomed.info.run_id not in {r.info.run_id for r in plan_garbage(client, 86_400_000).runs}
    plan = plan_garbage(client, None)
    assert doomed.info.run_id in {r.info.run_id for r in plan.runs}
    steps: list[None] = []
    result = collect_garbage(client, plan, on_step=lambda: steps.append(None))
    assert result.runs >= 1 and len(steps) == plan.size

    with pytest.raises(NotFound):
        client.get_run(doomed.info.run_id)
    assert not run_dir(tracking_backend, doomed).exists()
    assert client.search_runs([experiment_id], run_view_type="ALL").items[0].info.run_id == kept.info.run_id
    assert run_dir(tracking_backend, kept).joinpath("f.txt").read_text() == "data"
    assert client.get_metric_history(kept.info.run_id, "m")[0].value == 1.0


def test_gc_purges_deleted_experiment_and_frees_its_name(client: Any, tracking_backend: Any) -> None:
    name = unique("reuse")
    experiment_id = client.create_experiment(name, tags={"t": "1"})
    run = client.create_run(experiment_id)
    client.log_text(run.info.run_id, "bye", "gone.txt")
    client.delete_experiment(experiment_id)
    with pytest.raises(AlreadyExists, match="gc"):
        client.create_experiment(name)

    plan = plan_garbage(client, None)
    assert experiment_id in {e.experiment_id for e in plan.experiments}
    assert run.info.run_id in {r.info.run_id for r in plan.runs}
    collect_garbage(client, plan)

    with pytest.raises(NotFound):
        client.get_experiment(experiment_id)
    with pytest.raises(NotFound):
        client.get_run(run.info.run_id)
    assert not (tracking_backend.artifacts_dir / experiment_id).exists()
    new_id = client.create_experiment(name)  # SQLite may hand out the purged id again
    assert client.get_experiment(new_id).tags == {}
    assert client.search_runs([new_id], run_view_type="ALL").items == []
    assert client.get_experiment_by_name(name).experiment_id == new_id


def test_purge_refuses_active_things(client: Any, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    with pytest.raises(InvalidInput, match="active"):
        client.store.purge_run(run_id)
    with pytest.raises(InvalidInput, match="active"):
        client.store.purge_experiment(experiment_id)
    assert client.get_run(run_id).info.run_id == run_id
