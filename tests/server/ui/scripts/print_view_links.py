"""Run with the MLflow peer's python against a tracking server (``MLFLOW_TRACKING_URI``): make a
run the ordinary way and capture what the MLflow client prints when it ends ("View run <name>
at: <url>", "View experiment at: <url>").

Usage: print_view_links.py <experiment name> <run name>. Prints one JSON line: the experiment
id, the run id and the printed lines.
"""

import contextlib
import io
import json
import sys

import mlflow

experiment_name, run_name = sys.argv[1], sys.argv[2]
mlflow.set_experiment(experiment_name)
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_param("alpha", "0.5")
print(json.dumps({
    "experiment_id": run.info.experiment_id,
    "run_id": run.info.run_id,
    "printed": printed.getvalue().splitlines(),
}))
