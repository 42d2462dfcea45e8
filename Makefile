# trackflow: `make demo` brings it up with an example; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME := $(CURDIR)/.trackflow-demo
DEMO_PORT ?= 5000

.PHONY: install demo test lint bench services peers clean airflow-oracle screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	$(BIN)/pip install -q torch==2.13.0  # the local CPU build; a bare "torch" would pull CUDA wheels

services:
	bash scripts/ensure-services.sh
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-oidc-provider.sh

peers:  # the pinned real MLflow in .peers/mlflow: the oracle of the differential tests
	bash scripts/ensure-peers.sh

lint: install
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/mypy

test: install services peers lint
	$(BIN)/pytest -q -p no:cacheprovider --durations=40  # the slowest 40 listed: where the suite's time goes

demo: install
	TRACKFLOW_HOME=$(DEMO_HOME) $(BIN)/python examples/quickstart.py
	TRACKFLOW_HOME=$(DEMO_HOME) $(BIN)/trackflow server --port $(DEMO_PORT) --dags-folder examples/dags

airflow-oracle: install  # re-record Airflow's outcomes of tests/airflow_oracle/dags (needs the Airflow venv of `make bench`)
	$(BIN)/python tests/airflow_oracle/record.py
	$(BIN)/python tests/airflow_oracle/record_connections.py

screenshots: install  # the README's pictures of the UI, saved by the browser tests into docs/screenshots
	bash scripts/ensure-chromium.sh
	UI_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q -p no:cacheprovider tests/server/ui/test_ui_pipelines_actions.py tests/server/ui/test_ui_tracking_pages.py tests/server/ui/test_ui_compare.py tests/server/ui/test_ui_editing.py tests/server/ui/test_ui_artifacts.py

bench: install
	bash benchmarks/run.sh

clean:
	rm -rf $(VENV) .peers $(DEMO_HOME) .mypy_cache .ruff_cache .pytest_cache
