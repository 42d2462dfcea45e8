#!/usr/bin/env bash
# Side-by-side benchmarks: trackflow vs MLflow 3 / Airflow 3 on this machine.
#
#   bash benchmarks/run.sh                 # setup peers if needed, run all three benches
#   bash benchmarks/run.sh --quick         # smaller sizes (smoke run)
#   bash benchmarks/run.sh tracking        # only one (tracking | serving | pipelines), several allowed
#   bash benchmarks/run.sh setup           # only create the peer virtualenvs
#
# Peers live in their own virtualenvs under benchmarks/.work/ so they never touch
# trackflow's venv (.venv). Results are written into benchmarks/RESULTS.md.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
WORK="$ROOT/benchmarks/.work"
mkdir -p "$WORK"

MLFLOW_VERSION="${BENCH_MLFLOW_VERSION:-3.17.2}"
AIRFLOW_VERSION="${BENCH_AIRFLOW_VERSION:-3.3.2}"
BASE_PY="${BENCH_PYTHON:-}"
if [ -z "$BASE_PY" ]; then
  for cand in python3.11 python3.12 python3; do
    if command -v "$cand" >/dev/null 2>&1; then BASE_PY="$cand"; break; fi
  done
fi
TF_PY="$ROOT/.venv/bin/python"

log() { printf '[bench] %s\n' "$*" >&2; }

ensure_trackflow() {
  if [ ! -x "$TF_PY" ]; then
    log "trackflow venv missing; creating .venv and installing trackflow (editable)"
    "$BASE_PY" -m venv "$ROOT/.venv"
    "$TF_PY" -m pip install -q -e "$ROOT"
  fi
  if ! "$TF_PY" -c "import psutil, httpx" >/dev/null 2>&1; then
    "$TF_PY" -m pip install -q psutil httpx
  fi
}

ensure_mlflow() {
  # The same pinned MLflow the differential tests use (.peers/mlflow).
  PEER_MLFLOW_VERSION="$MLFLOW_VERSION" PEER_PYTHON="$BASE_PY" bash "$ROOT/scripts/ensure-peers.sh"
}

ensure_airflow() {
  local venv="$WORK/venv-airflow"
  if [ -f "$venv/.ok-$AIRFLOW_VERSION" ]; then return 0; fi
  log "creating $venv (apache-airflow==$AIRFLOW_VERSION)"
  rm -rf "$venv"
  "$BASE_PY" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  local pyver
  pyver="$("$venv/bin/python" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
  local url="https://raw.githubusercontent.com/apache/airflow/constraints-${AIRFLOW_VERSION}/constraints-${pyver}.txt"
  local cfile="$WORK/airflow-constraints-${AIRFLOW_VERSION}-${pyver}.txt"
  # Airflow's official constraints file, when it can be fetched; else let pip resolve.
  if [ ! -s "$cfile" ] && [ "${BENCH_FETCH_CONSTRAINTS:-0}" = "1" ]; then
    curl -fsSL --max-time 20 "$url" -o "$cfile" 2>/dev/null || rm -f "$cfile"
  fi
  if [ -s "$cfile" ] && "$venv/bin/python" -m pip install -q "apache-airflow==$AIRFLOW_VERSION" psutil -c "$cfile"; then
    log "installed airflow with constraints"
  else
    log "installing airflow without the constraints file (pip resolves)"
    "$venv/bin/python" -m pip install -q "apache-airflow==$AIRFLOW_VERSION" psutil
  fi
  "$venv/bin/python" -c "import airflow; print('airflow', airflow.__version__)"
  touch "$venv/.ok-$AIRFLOW_VERSION"
}

QUICK=()
WHAT=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=(--quick) ;;
    tracking|serving|pipelines|setup) WHAT+=("$a") ;;
    *) echo "usage: bash benchmarks/run.sh [--quick] [setup|tracking|serving|pipelines]..." >&2; exit 2 ;;
  esac
done
[ ${#WHAT[@]} -eq 0 ] && WHAT=(tracking serving pipelines)

ensure_trackflow
for w in "${WHAT[@]}"; do
  case "$w" in
    setup) ensure_mlflow; ensure_airflow ;;
    tracking) ensure_mlflow; "$TF_PY" benchmarks/bench_tracking.py "${QUICK[@]}" ;;
    serving) ensure_mlflow; "$TF_PY" benchmarks/bench_serving.py "${QUICK[@]}" ;;
    pipelines) ensure_airflow; "$TF_PY" benchmarks/bench_pipelines.py "${QUICK[@]}" ;;
  esac
done
