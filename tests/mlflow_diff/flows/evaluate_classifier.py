"""User code, unchanged between servers: ``mlflow.models.evaluate`` of a logged model URI, the
way MLflow 3's docs show it, then what the run and the LoggedModel record.

    python evaluate_classifier.py EXPERIMENT    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

experiment = sys.argv[1]
X, y = load_iris(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
mlflow.set_experiment(experiment)
with mlflow.start_run() as run:
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    info = mlflow.sklearn.log_model(model, name="model", input_example=X_train[:5])
    data = X_test.assign(target=y_test)
    result = mlflow.models.evaluate(info.model_uri, data, targets="target", model_type="classifier")

client = MlflowClient()
after = client.get_run(run.info.run_id)
logged = mlflow.get_logged_model(info.model_id)
numbers = {k: round(float(v), 6) for k, v in result.metrics.items() if isinstance(v, int | float)}
print(
    json.dumps(
        {
            "metrics": numbers,
            "run_metrics": sorted(after.data.metrics),
            "run_dataset_inputs": sorted(d.dataset.name for d in after.inputs.dataset_inputs),
            "run_model_inputs": [m.model_id == info.model_id for m in (after.inputs.model_inputs or [])],
            "model_metrics": sorted(
                (m.key, round(m.value, 6), bool(m.dataset_name), bool(m.dataset_digest)) for m in logged.metrics
            ),
            "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        }
    )
)
