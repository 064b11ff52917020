# Depot: the two commands of the README, and a few helpers.
#   make run   - create .venv, install Depot, start it on SQLite + ./data (http://127.0.0.1:8080),
#                with the quality and product-service modules enabled
#   make test  - install the test tools, start the services the tests need, run every check

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
# pytest processes for `make test` (pytest-xdist); 0 runs the suite in one process.
PYTEST_WORKERS ?= 2

.PHONY: run test lint typecheck imports policies-coverage unit e2e bench bench-peers clean translations

# The tests start hundreds of Python processes (servers, the CLI, pytest's workers): let them
# keep bytecode (our packages, and pytest's rewritten test modules) instead of compiling every
# module again in each process when the environment says PYTHONDONTWRITEBYTECODE.
test unit e2e policies-coverage: export PYTHONDONTWRITEBYTECODE :=

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	scripts/ensure-services.sh build-deps
	$(PIP) install -e '.[dev]'
	@touch $@

# The quick start runs with both business modules; DEPOT_PLUGINS= (empty) runs the core alone.
run: $(VENV)/.installed
	DEPOT_PLUGINS="$${DEPOT_PLUGINS-quality,product_service}" $(BIN)/depot-server run

test: $(VENV)/.installed-dev
	scripts/ensure-services.sh
	$(MAKE) --no-print-directory lint typecheck imports policies-coverage
	$(BIN)/pytest -n $(PYTEST_WORKERS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

# The import contracts (pyproject.toml: layers, forbidden imports), then no import cycle
# in any of our packages.
imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports
	$(BIN)/python scripts/check_cycles.py repo_server client policies storage

# The rules are covered by their own tests, every branch of them.
policies-coverage: $(VENV)/.installed-dev
	$(BIN)/pytest tests/policies -q -p no:cacheprovider --cov=policies --cov-branch \
		--cov-report=term-missing:skip-covered --cov-fail-under=100

unit: $(VENV)/.installed-dev
	$(BIN)/pytest --ignore=tests/e2e --ignore=tests/deploy

e2e: $(VENV)/.installed-dev
	$(BIN)/pytest tests/e2e tests/deploy

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/transfer.py

# Depot beside nginx, pypiserver and devpi (installed into a venv of their own), one run.
bench-peers: $(VENV)/.installed-dev
	$(BIN)/python bench/peers.py

# The pages' and the mail's catalogs (repo_server/translations): extract the messages of the
# code and templates, merge them into each messages.po (translate what is new or fuzzy
# there), compile messages.mo. Both files are committed; tests/repo_server/test_translations.py
# fails while they lag behind the code.
translations: $(VENV)/.installed-dev
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location \
	    --sort-output --omit-header -o repo_server/translations/messages.pot .
	$(BIN)/pybabel update -i repo_server/translations/messages.pot -d repo_server/translations \
	    --width=100 --ignore-obsolete
	$(BIN)/pybabel compile -d repo_server/translations --statistics
	rm repo_server/translations/messages.pot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
