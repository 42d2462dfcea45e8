"""The example pipeline `make demo` schedules: train a model per regularisation strength,
pick the best by its tracked metric, and register it. Every task is a tracked run."""

from __future__ import annotations

from datetime import datetime

import trackflow
from trackflow import dag, task
from trackflow.operators import BashOperator


@dag(schedule="@daily", start_date=datetime(2025, 1, 1), catchup=False, tags=["example"])
def example_pipeline():
    @task
    def strengths() -> list[float]:
        return [0.1, 1.0, 10.0]

    @task
    def train(c: float) -> dict:
        from sklearn.datasets import load_iris
        from sklearn.linear_model import LogisticRegression

        X, y = load_iris(return_X_y=True, as_frame=True)
        model = LogisticRegression(C=c, max_iter=500).fit(X, y)
        accuracy = float(model.score(X, y))
        trackflow.log_param("C", c)
        trackflow.log_metric("accuracy", accuracy)
        info = trackflow.sklearn.log_model(model, name="model", input_example=X.head(3))
        return {"c": c, "accuracy": accuracy, "model_uri": info.model_uri}

    @task
    def pick_best(results: list[dict]) -> str:
        best = max(results, key=lambda r: r["accuracy"])
        version = trackflow.Client().register_model(best["model_uri"], "iris-example")
        trackflow.Client().set_registered_model_alias("iris-example", "champion", version.version)
        return f"C={best['c']} accuracy={best['accuracy']:.3f} -> iris-example v{version.version}"

    summary = pick_best(train.expand(c=strengths()))
    summary >> BashOperator(task_id="report", bash_command="echo 'best model: {{ ti.xcom_pull(task_ids=\"pick_best\") }}'")


example_pipeline()
