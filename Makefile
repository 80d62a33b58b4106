# Audience Toolkit: `make` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_BOOT ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
CONFIG ?= data-samples/shop/report.yaml
OUT ?= reports
export MPLBACKEND := Agg
export NUMBA_CACHE_DIR ?= $(CURDIR)/.cache/numba
export PYTHONHASHSEED := 0

.PHONY: help env report test test-unit test-notebooks lab lint format bench sample lock browser clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-15s %s\n", $$1, $$2}'

# --compile-bytecode: uv skips it by default, and with PYTHONDONTWRITEBYTECODE set every
# kernel would recompile pandas, scikit-learn and matplotlib from source (seconds each)
$(STAMP): pyproject.toml requirements/lock.txt
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
	$(UV) pip sync --python $(PY) --quiet --compile-bytecode requirements/lock.txt
	$(UV) pip install --python $(PY) --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

env: $(STAMP) ## create .venv and install the project against the lock file

report: $(STAMP) ## run the full report on the bundled sample and print where index.html is
	$(VENV)/bin/toolkit report $(CONFIG) --out $(OUT)

test: $(STAMP) browser ## run the whole test suite (unit, notebooks, end to end, browser)
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider --doctest-modules toolkit tests
	$(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-current-env notebooks

browser: ## install Debian's chromium for the browser tests (skipped when already present)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium missing: browser tests will skip"; }

lab: $(STAMP) ## open JupyterLab on the notebook templates
	$(VENV)/bin/jupyter lab notebooks

lint: $(STAMP) ## ruff lint and format check
	$(VENV)/bin/ruff check toolkit tests benchmarks
	$(VENV)/bin/ruff format --check toolkit tests benchmarks

format: $(STAMP) ## format the code with ruff
	$(VENV)/bin/ruff format toolkit tests benchmarks

bench: $(STAMP) ## run the benchmarks and print their tables
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

sample: $(STAMP) ## regenerate data-samples/shop from its seed
	$(VENV)/bin/toolkit sample data-samples/shop

lock: ## regenerate requirements/lock.txt from pyproject.toml
	uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements/lock.txt

clean: ## remove run folders and caches (keeps .venv)
	rm -rf reports .cache .pytest_cache
