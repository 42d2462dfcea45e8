"""User code, unchanged between servers: the everyday tracking calls of MLflow's quickstart and
tracking docs — params, metrics over steps, tags, artifacts of every kind, a dataset input,
nested runs, search_runs as a DataFrame, metric history, artifact listing and download.

    python tracking_quickstart.py EXPERIMENT    (MLFLOW_TRACKING_URI set)"""

import json
import os
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mlflow  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402

experiment = sys.argv[1]
exp = mlflow.set_experiment(experiment)
mlflow.set_experiment_tag("team", "ml")
frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
with tempfile.TemporaryDirectory() as tmp:
    notes = os.path.join(tmp, "notes.md")
    with open(notes, "w") as f:
        f.write("# notes\n")
    with mlflow.start_run(run_name="parent", description="the parent") as parent:
        mlflow.log_params({"lr": 0.01, "epochs": 3, "optimizer": "adam"})
        mlflow.log_param("batch", 32)
        for step in range(3):
            mlflow.log_metrics({"loss": 1.0 / (step + 1), "acc": 0.5 + step / 10}, step=step)
        mlflow.log_metric("nan_metric", float("nan"))
        mlflow.set_tags({"stage": "dev", "owner": "me"})
        mlflow.log_artifact(notes)
        mlflow.log_artifact(notes, artifact_path="docs")
        mlflow.log_dict({"a": 1}, "config/params.json")
        mlflow.log_dict({"a": 1}, "config/params.yaml")
        mlflow.log_text("hello", "texts/hello.txt")
        mlflow.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "images/black.png")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        mlflow.log_figure(fig, "plots/line.png")
        mlflow.log_table(frame, "tables/frame.json")
        mlflow.log_input(mlflow.data.from_pandas(frame, name="toy"), context="training")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("child_metric", 2.0)
    client = MlflowClient()
    runs = mlflow.search_runs(experiment_names=[experiment], order_by=["metrics.child_metric DESC"])
    found = mlflow.search_runs(experiment_ids=[exp.experiment_id], filter_string="params.optimizer = 'adam'")
    parent_run = client.get_run(parent.info.run_id)
    child_run = client.get_run(child.info.run_id)
    history = client.get_metric_history(parent.info.run_id, "loss")
    listed = sorted(f.path for f in client.list_artifacts(parent.info.run_id))
    nested = sorted(f.path for f in client.list_artifacts(parent.info.run_id, "config"))
    downloaded = sorted(os.listdir(
        mlflow.artifacts.download_artifacts(run_id=parent.info.run_id, artifact_path="config", dst_path=tmp)
    ))
    loaded = mlflow.artifacts.load_dict(f"runs:/{parent.info.run_id}/config/params.json")
    text = mlflow.artifacts.load_text(f"runs:/{parent.info.run_id}/texts/hello.txt")

print(json.dumps({
    "experiment_tags": {k: v for k, v in client.get_experiment(exp.experiment_id).tags.items() if k == "team"},
    "params": parent_run.data.params,
    "metrics": {k: (None if v != v else v) for k, v in parent_run.data.metrics.items()},
    "tags": {k: v for k, v in parent_run.data.tags.items() if not k.startswith("mlflow.")},
    "note": parent_run.data.tags.get("mlflow.note.content"),
    "run_name": parent_run.info.run_name,
    "status": [parent_run.info.status, child_run.info.status],
    "child_parent": child_run.data.tags.get("mlflow.parentRunId") == parent.info.run_id,
    "datasets": [
        (d.dataset.name, d.dataset.source_type, [t.value for t in d.tags]) for d in parent_run.inputs.dataset_inputs
    ],
    "history": [(m.step, m.value) for m in history],
    "artifacts": listed,
    "config": nested,
    "downloaded": downloaded,
    "dict": loaded,
    "text": text,
    "search_columns": sorted(c for c in runs.columns if c.startswith(("params.", "metrics.", "tags.stage"))),
    "search_order": list(runs["tags.mlflow.runName"]),
    "filtered": list(found["tags.mlflow.runName"]),
}))
