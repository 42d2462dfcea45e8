#!/usr/bin/env bash
# Side-by-side benchmarks: trackflow vs MLflow 3 / Airflow 3 on this machine.
#
#   bash benchmarks/run.sh                 # setup peers if needed, run all three benches
#   bash benchmarks/run.sh --quick         # smaller sizes (smoke run)
#   bash benchmarks/run.sh tracking        # only one (tracking | serving | pipelines | ui | tracking_ui | traces | scaleout), several allowed
#   bash benchmarks/run.sh --quick scaleout  # Celery scale-out (needs PostgreSQL and Redis on 127.0.0.1)
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
AIRFLOW_CELERY_VERSION="${BENCH_AIRFLOW_CELERY_VERSION:-3.26.0}"  # apache-airflow-providers-celery
PSYCOPG2_VERSION="${BENCH_PSYCOPG2_VERSION:-2.9.13}"
ASYNCPG_VERSION="${BENCH_ASYNCPG_VERSION:-0.32.0}"  # Airflow 3's async engine on PostgreSQL
# celery 5.7 dropped celery.backends.database.retry, which the Celery provider 3.26.0 imports
AIRFLOW_CELERY_LIB_VERSION="${BENCH_AIRFLOW_CELERY_LIB_VERSION:-5.6.3}"
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

ensure_airflow_celery() {
  # The CeleryExecutor and PostgreSQL drivers (sync psycopg2, async asyncpg: what `apache-airflow[postgres]`
  # brings), added to the same Airflow venv for bench_scaleout.py; pinned, with airflow pinned so pip cannot move it.
  ensure_airflow
  local venv="$WORK/venv-airflow"
  local pins=("apache-airflow-providers-celery==$AIRFLOW_CELERY_VERSION" "psycopg2-binary==$PSYCOPG2_VERSION"
              "asyncpg==$ASYNCPG_VERSION" "celery[redis]==$AIRFLOW_CELERY_LIB_VERSION")
  local mark="$venv/.ok-celery-$AIRFLOW_CELERY_VERSION-$PSYCOPG2_VERSION-$ASYNCPG_VERSION-$AIRFLOW_CELERY_LIB_VERSION"
  if [ -f "$mark" ]; then return 0; fi
  log "adding ${pins[*]} to $venv"
  "$venv/bin/python" -m pip install -q "apache-airflow==$AIRFLOW_VERSION" "${pins[@]}"
  # importing airflow writes airflow.cfg under AIRFLOW_HOME: keep it in the scratch folder, not ~/airflow
  AIRFLOW_HOME="$WORK/airflow-home-check" "$venv/bin/python" -c \
    "import airflow.providers.celery, psycopg2, asyncpg, redis; print('celery provider ok')"
  touch "$mark"
}

QUICK=()
WHAT=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=(--quick) ;;
    tracking|serving|pipelines|ui|tracking_ui|traces|scaleout|setup) WHAT+=("$a") ;;
    *) echo "usage: bash benchmarks/run.sh [--quick] [setup|tracking|serving|pipelines|ui|tracking_ui|traces|scaleout]..." >&2; exit 2 ;;
  esac
done
[ ${#WHAT[@]} -eq 0 ] && WHAT=(tracking serving pipelines ui traces)

ensure_trackflow
for w in "${WHAT[@]}"; do
  case "$w" in
    setup) ensure_mlflow; ensure_airflow; ensure_airflow_celery ;;
    tracking) ensure_mlflow; "$TF_PY" benchmarks/bench_tracking.py "${QUICK[@]}" ;;
    serving) ensure_mlflow; "$TF_PY" benchmarks/bench_serving.py "${QUICK[@]}" ;;
    traces) ensure_mlflow; "$TF_PY" benchmarks/bench_traces.py "${QUICK[@]}" ;;
    pipelines) ensure_airflow; "$TF_PY" benchmarks/bench_pipelines.py "${QUICK[@]}" ;;
    ui) "$TF_PY" benchmarks/bench_ui.py "${QUICK[@]}" ;;
    tracking_ui) "$TF_PY" benchmarks/bench_tracking_ui.py "${QUICK[@]}" ;;  # seeds ~15 GB under benchmarks/.work once
    scaleout)
      ensure_airflow_celery
      "$TF_PY" -c "import psycopg, celery, redis" 2>/dev/null || "$TF_PY" -m pip install -q -e "$ROOT[postgres,celery]"
      "$TF_PY" benchmarks/bench_scaleout.py "${QUICK[@]}" ;;
  esac
done
