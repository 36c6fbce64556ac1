# Two commands: `make run` (the main job, locally) and `make test` (the whole suite).
# Both bootstrap a fresh clone by themselves: .venv, Python packages, npm packages (Azurite).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
MONTH ?= $(shell date -u -d "$$(date -u +%Y-%m-01) -1 day" +%Y-%m)

.PHONY: run test lint bench package setup system-deps clean stack-down

run: setup
	$(BIN)/chargeback demo --month $(MONTH)

# Two pytest workers (pytest-xdist), one per core: each starts its own Azurite (session fixture, free ports);
# a file's tests stay in one worker, so module fixtures (package build, generated months) are made once.
test: setup system-deps lint
	$(BIN)/pytest -q -n 2 --dist loadfile

# ruff (rules in pyproject.toml), mypy (strict on chargeback/), import-linter (contracts in pyproject.toml)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/chargeback bench

# The deployment package: exactly what Azure runs (.funcignore leaves the rest out); see infra/README.md.
package: setup
	$(BIN)/python scripts/package.py out/package.zip

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (Python 3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps:
	./scripts/system-deps.sh
	./scripts/focus-validator.sh

stack-down:
	-$(BIN)/chargeback stack down

clean: stack-down
	rm -rf $(VENV) node_modules .chargeback out .pytest_cache .hypothesis *.egg-info
