"""MLflow's own AuthServiceClient (mlflow.server.get_app_client("basic-auth")) against a server,
as its admin (MLFLOW_TRACKING_USERNAME/PASSWORD): make a user, make them admin and not, grant,
read and revoke an experiment permission, see the user refused, delete them. Prints one JSON line."""

import json
import os

import mlflow
from mlflow.exceptions import MlflowException, RestException
from mlflow.server import get_app_client

uri = os.environ["MLFLOW_TRACKING_URI"]
auth = get_app_client("basic-auth", tracking_uri=uri)
user = auth.create_user("dana", "dana-password-1")
out = {"user": [user.username, user.is_admin]}
auth.update_user_admin("dana", True)
out["admin_after_update"] = auth.get_user("dana").is_admin
auth.update_user_admin("dana", False)

experiment_id = mlflow.MlflowClient(uri).create_experiment("for-dana")
auth.grant_user_permission("dana", "experiment", experiment_id, "EDIT")
got = auth.get_user_permission("dana", "experiment", experiment_id)
out["grant"] = [got.allowed, got.permission]
auth.revoke_user_permission("dana", "experiment", experiment_id)
got = auth.get_user_permission("dana", "experiment", experiment_id)
out["after_revoke"] = [got.allowed, got.permission]

os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = "dana", "dana-password-1"
try:
    mlflow.MlflowClient(uri).create_run(experiment_id)
    out["dana_denied"] = "no"
except MlflowException as exc:
    out["dana_denied"] = "403" if "403" in str(exc) or "Permission denied" in str(exc) else str(exc)
os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = "admin", "admin-password-1"

auth.delete_user("dana")
try:
    auth.get_user("dana")
    out["deleted"] = "still there"
except RestException as exc:
    out["deleted"] = "404" if exc.error_code == "RESOURCE_DOES_NOT_EXIST" else exc.error_code
print(json.dumps(out))
