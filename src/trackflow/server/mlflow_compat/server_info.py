"""MLflow 3's ``GET /api/3.0/mlflow/server-info``: how the server is set up, read by MLflow's
client before it picks an artifact upload path or turns on workspaces."""

from __future__ import annotations

from fastapi import APIRouter

from trackflow.server.responses import JSONResponse

router = APIRouter()

# The MLflow REST API this server speaks. MLflow's client reads GET /version to choose what to
# use (it exports trace spans over OTLP only to servers >= 3.4), so /version says this version
# with trackflow's own as the local label: "3.17.2+trackflow.0.1.0".
MLFLOW_API_VERSION = "3.17.2"

# What trackflow's server offers, in MLflow's keys: a SQL store, no workspaces, no trace
# archival, artifacts proxied in single requests (no multipart, no presigned uploads), no AI gateway.
SERVER_INFO = {
    "store_type": "SqlStore",
    "workspaces_enabled": False,
    "trace_archival_enabled": False,
    "multipart_uploads_enabled": False,
    "multipart_downloads_enabled": False,
    "presigned_upload_run_id_supported": False,
    "presigned_upload_model_id_supported": False,
    "features_enabled": {"gateway": False},
}


@router.get("/api/3.0/mlflow/server-info", include_in_schema=False)
@router.get("/ajax-api/3.0/mlflow/server-info", include_in_schema=False)
def server_info() -> JSONResponse:
    return JSONResponse(SERVER_INFO)
