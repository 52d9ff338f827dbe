# sourcegate: `make run` loads the bundled sources, `make test` runs the tests.
# Both build .venv from uv.lock first; nothing needs installing by hand.

SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
TEST_WORKERS ?= 2
export DAGSTER_HOME := $(CURDIR)/.dagster

.DEFAULT_GOAL := help
.PHONY: help setup lock run test dev validate lint format samples bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(UV):
	@$(PYTHON) -m venv .tools
	@.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) pyproject.toml requirements.lock
	@test -x $(VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	@$(UV) pip sync --quiet --python $(VENV)/bin/python requirements.lock
	@$(UV) pip install --quiet --python $(VENV)/bin/python --no-deps -e .
	@touch $@

setup: $(VENV)/.synced ## create .venv from the lock file (nothing else)

lock: $(UV) ## re-resolve requirements.lock after editing pyproject.toml
	@$(UV) pip compile pyproject.toml --group dev --generate-hashes --no-emit-index-url \
		--python-version 3.11 --no-header --quiet -o requirements.lock

run: setup ## load every runnable bundled source and run its checks
	@$(VENV)/bin/sourcegate run

test: setup ## run the test suite (TEST_WORKERS=2 processes; each test file stays in one)
	@$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

dev: setup ## open the Dagster UI (with the daemon) on http://127.0.0.1:3000
	@mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

validate: setup ## validate every file in sources/
	@$(VENV)/bin/sourcegate validate sources/

lint: setup ## ruff lint and format check
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: setup ## ruff format and autofix
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

samples: setup ## regenerate data/samples/ (deterministic)
	@$(VENV)/bin/python data/generate_samples.py

clean: ## remove the local warehouse and Dagster instance
	rm -rf warehouse .dagster

bench: setup ## run the side-by-side benchmarks (SCALE=quick for a fast pass); writes bench/RESULTS.md
	@$(VENV)/bin/python -m bench.run --scale $(or $(SCALE),full) --repeat $(or $(REPEAT),3)
