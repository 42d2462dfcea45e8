"""User code: find the logged models of an experiment with MLflow 3's API and load each one.

python find_logged_models.py EXPERIMENT    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402

X, _ = load_iris(return_X_y=True, as_frame=True)
experiment = mlflow.get_experiment_by_name(sys.argv[1])
models = mlflow.search_logged_models(experiment_ids=[experiment.experiment_id], output_format="list")
out = []
for model in models:
    fetched = mlflow.get_logged_model(model.model_id)
    run = mlflow.get_run(model.source_run_id)
    out.append(
        {
            "name": model.name,
            "status": str(fetched.status),
            "params": fetched.params,
            "metrics": sorted(m.key for m in fetched.metrics),
            "run_outputs": [o.model_id == model.model_id for o in run.outputs.model_outputs],
            "predictions": mlflow.pyfunc.load_model(f"models:/{model.model_id}").predict(X[:5]).tolist(),
            "by_run": mlflow.pyfunc.load_model(f"runs:/{model.source_run_id}/{model.name}").predict(X[:5]).tolist(),
        }
    )
print(json.dumps(out))
