"""User code, unchanged between servers: a custom PythonModel logged with MLflow 3, registered
with ``mlflow.register_model(model_info.model_uri, ...)``, metrics logged against the model, and
the LoggedModel APIs (search with filter and order_by, get, tags).

    python pyfunc_custom.py EXPERIMENT REGISTERED_MODEL    (MLFLOW_TRACKING_URI set)"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")

import mlflow  # noqa: E402
import pandas as pd  # noqa: E402
from mlflow import MlflowClient  # noqa: E402


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n


experiment, registered = sys.argv[1], sys.argv[2]
mlflow.set_experiment(experiment)
example = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
infos = {}
with mlflow.start_run() as run:
    for n in (1, 2, 3):
        infos[n] = mlflow.pyfunc.log_model(name=f"adder{n}", python_model=AddN(n), input_example=example)
        mlflow.log_metric("score", n / 10, model_id=infos[n].model_id, dataset=None)
version = mlflow.register_model(infos[2].model_uri, registered)

client = MlflowClient()
client.set_logged_model_tags(infos[1].model_id, {"stage": "dev"})
client.set_logged_model_tags(infos[3].model_id, {"stage": "prod"})
client.delete_logged_model_tag(infos[3].model_id, "stage")
exp_id = run.info.experiment_id
ids = {info.model_id: n for n, info in infos.items()}


def names(models):
    return [ids.get(m.model_id) for m in models]


loaded = mlflow.pyfunc.load_model(infos[2].model_uri).predict(example)
by_version = mlflow.pyfunc.load_model(f"models:/{registered}/{version.version}").predict(example)
search = {
    "default order": names(mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")),
    "by name": names(
        mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="name = 'adder2'", output_format="list")
    ),
    "by metric": names(
        mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="metrics.score >= 0.2", output_format="list")
    ),
    "by tag": names(
        mlflow.search_logged_models(experiment_ids=[exp_id], filter_string="tags.stage = 'dev'", output_format="list")
    ),
    "order by metric desc": names(
        mlflow.search_logged_models(
            experiment_ids=[exp_id],
            order_by=[{"field_name": "metrics.score", "ascending": False}],
            output_format="list",
        )
    ),
    "as a DataFrame": sorted(mlflow.search_logged_models(experiment_ids=[exp_id])["name"].tolist()),
}
page = client.search_logged_models(experiment_ids=[exp_id], max_results=2)
rest = client.search_logged_models(experiment_ids=[exp_id], max_results=2, page_token=page.token)
model = mlflow.get_logged_model(infos[1].model_id)
client.delete_logged_model(infos[3].model_id)

print(
    json.dumps(
        {
            "predictions": loaded["x"].tolist(),
            "predictions_by_version": by_version["x"].tolist(),
            "version": [version.version, version.source == infos[2].model_uri, version.run_id == run.info.run_id],
            "search": search,
            "pages": [names(page), bool(page.token), names(rest), bool(rest.token)],
            "model": {
                "name": model.name,
                "status": str(model.status),
                "tags": {k: v for k, v in model.tags.items() if not k.startswith("mlflow.")},
                "metrics": [(m.key, m.value, m.model_id == infos[1].model_id) for m in model.metrics],
            },
            "after delete": names(mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")),
            "run outputs": sorted(ids[o.model_id] for o in client.get_run(run.info.run_id).outputs.model_outputs),
        }
    )
)
