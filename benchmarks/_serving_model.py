"""Train an sklearn iris classifier and save it with MLflow's sklearn flavor (run with .peers/mlflow's python).

    python _serving_model.py OUT_DIR [SERIALIZATION_FORMAT]

SERIALIZATION_FORMAT: "default" (MLflow's own default; skops in MLflow 3.17), "cloudpickle", "pickle", "skops".

Prints one JSON line: the model path, the request payload and MLflow's own prediction for it.
"""

from __future__ import annotations

import json
import sys

import mlflow.sklearn
import yaml
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def main(out: str, fmt: str) -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    kwargs = {} if fmt == "default" else {"serialization_format": fmt}
    mlflow.sklearn.save_model(model, out, input_example=X.head(3), **kwargs)
    flavor = yaml.safe_load(open(f"{out}/MLmodel"))["flavors"]["sklearn"]
    row = X.iloc[[0]]
    payload = {"dataframe_split": {"columns": list(row.columns), "data": row.values.tolist()}}
    print(json.dumps({"path": out, "payload": payload, "expected": model.predict(row).tolist(),
                      "serialization_format": flavor.get("serialization_format")}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "default")
