"""Run with the MLflow peer's python: save an iris classifier whose signature names its four
double columns and declares one param, with MLflow's own ``mlflow.sklearn.save_model``.

Usage: save_iris_model.py <model_dir>. Prints one JSON line: the predictions of the model on
the iris rows, which both scoring servers must reproduce.
"""

import json
import sys

import mlflow.sklearn
from mlflow.models import infer_signature
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=300).fit(X, y)
signature = infer_signature(X, model.predict(X), params={"threshold": 0.5})
mlflow.sklearn.save_model(model, sys.argv[1], signature=signature)
print(json.dumps({"columns": list(X.columns), "predictions": model.predict(X).tolist()}))
