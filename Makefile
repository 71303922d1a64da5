# Ladder: two commands. `make run` serves the demo company; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DEMO_DISTRIBUTORS ?= 2000

# Tests run against real PostgreSQL and Redis; override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/ladder
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
# The cache gets its own Redis database: tests clear it, and must never clear the broker.
TEST_CACHE_URL ?= redis://127.0.0.1:6379/1

.PHONY: install run test lint format clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

run: install
	@mkdir -p var
	@$(BIN)/python tests/preflight.py
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py migrate --noinput
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} $(BIN)/python manage.py seed_demo --if-empty --distributors $(DEMO_DISTRIBUTORS)
	@echo
	@echo "  Ladder is starting at http://127.0.0.1:$(PORT)/   (Ctrl-C stops web, worker and beat)"
	@echo "  Demo logins (password ladder-demo-2026):"
	@echo "    staff@ladder.example     staff (lands on /staff/)   approver@ladder.example  second staff (approvals)"
	@echo "    TOTP codes of both staff logins: $(BIN)/python manage.py demo_totp"
	@echo "    leader@ladder.example  middle@ladder.example  deep@ladder.example  new@ladder.example"
	@echo "  Emails are written to var/mail/ (seeding sends none: the newest is the latest sign-up's link)"
	@echo
	DJANGO_DEBUG=$${DJANGO_DEBUG:-true} PORT=$(PORT) PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

# The browser tests drive Debian's Chromium (never a downloaded browser).
CHROMIUM ?= /usr/bin/chromium

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser tests..."
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

test: install $(CHROMIUM)
	@DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		$(BIN)/python tests/preflight.py
	$(BIN)/ruff check .
	$(BIN)/lint-imports  # the layer contracts in pyproject.toml: an upward import fails here
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		CACHE_URL=$${CACHE_URL:-$(TEST_CACHE_URL)} LADDER_CHROMIUM=$(CHROMIUM) \
		$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf var staticfiles .pytest_cache .ruff_cache
