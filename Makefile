# The README's two commands are `make run` and `make test`; the other targets are their parts.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi
export PORTAL_ENV ?= development
TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# The restricted role the app connects as in the PostgreSQL pass (created when missing).
TEST_POSTGRES_APP_ROLE ?= portal_test_app
PYTEST_ARGS ?= -n auto --durations=25

.PHONY: setup run test test-sqlite test-postgres translations-extract translations-update translations-compile

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed translations-compile

## Serve the portal with the demo data on SQLite at http://127.0.0.1:5000
run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## The whole test suite on SQLite, then on PostgreSQL (skipped with a note when no
## server answers at TEST_POSTGRES_URL, unless REQUIRE_POSTGRES=1), where the app
## connects as TEST_POSTGRES_APP_ROLE and the TEST_POSTGRES_URL user owns the schema
test: setup test-sqlite test-postgres

test-sqlite:
	PORTAL_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres:
	@if $(BIN)/python -c "import sqlalchemy as sa; sa.create_engine('$(TEST_POSTGRES_URL)').connect().close()" 2>/dev/null; then \
		PORTAL_TEST_DB=postgresql TEST_POSTGRES_URL='$(TEST_POSTGRES_URL)' TEST_POSTGRES_APP_ROLE='$(TEST_POSTGRES_APP_ROLE)' \
			$(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$(REQUIRE_POSTGRES)" = "1" ]; then \
		echo "PostgreSQL is required but does not answer at $(TEST_POSTGRES_URL)"; exit 1; \
	else \
		echo "NOTE: no PostgreSQL at $(TEST_POSTGRES_URL); the PostgreSQL run is skipped."; \
	fi

translations-extract:
	$(BIN)/pybabel extract -F babel.cfg -k _l -k _lp:1c,2 -k N_ --no-location --sort-output -o translations/messages.pot .

translations-update: translations-extract
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

translations-compile:
	$(BIN)/pybabel compile -d translations --statistics
