"""Run with trackflow's python: log an iris classifier with trackflow's own client against the
tracking server ``argv[1]``, register it as ``iris`` and point the alias ``champion`` at it.

Prints one JSON line: the version, the logged model's id, the columns and the predictions of
the model on every iris row (which every scoring server must reproduce).
"""

import json
import sys

from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import trackflow
import trackflow.sklearn

X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=300).fit(X, y)
trackflow.set_tracking_uri(sys.argv[1])
trackflow.set_experiment("iris-serving")
with trackflow.start_run():
    info = trackflow.sklearn.log_model(model, name="model", input_example=X[:3], registered_model_name="iris")
trackflow.Client().set_registered_model_alias("iris", "champion", str(info.registered_model_version))
print(json.dumps({
    "version": info.registered_model_version,
    "model_id": info.model_id,
    "columns": list(X.columns),
    "predictions": model.predict(X).tolist(),
}))
