#!/usr/bin/env bash
# The real MLflow, pinned, in its own virtualenv (.peers/mlflow): the oracle the differential
# tests and the benchmarks run beside trackflow. Never installed into trackflow's .venv.
#   bash scripts/ensure-peers.sh            # creates .peers/mlflow when missing or at another version
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
MLFLOW_VERSION="${PEER_MLFLOW_VERSION:-3.17.2}"
BASE_PY="${PEER_PYTHON:-python3}"
VENV="$ROOT/.peers/mlflow"
if [ -f "$VENV/.ok-$MLFLOW_VERSION" ]; then
  # a peer made before basic-auth was compared: add what mlflow[auth] brings
  "$VENV/bin/python" -c "import flask_wtf" 2>/dev/null || "$VENV/bin/python" -m pip install -q "mlflow[auth]==$MLFLOW_VERSION"
  exit 0
fi
echo "creating $VENV (mlflow==$MLFLOW_VERSION, scikit-learn)" >&2
rm -rf "$VENV"
mkdir -p "$ROOT/.peers"
"$BASE_PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
# mlflow[auth]: Flask-WTF, which `mlflow server --app-name basic-auth` needs (tests/mlflow_diff/test_auth_permissions.py)
"$VENV/bin/python" -m pip install -q "mlflow[auth]==$MLFLOW_VERSION" scikit-learn psutil
"$VENV/bin/python" -c "import mlflow, sklearn; assert mlflow.__version__ == '$MLFLOW_VERSION', mlflow.__version__"
touch "$VENV/.ok-$MLFLOW_VERSION"
