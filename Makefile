# govhall — `make run` serves the demo, `make test` runs every check. `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT
# The first Python 3.11+ on PATH creates the virtual environment.
PYTHON ?= $(shell for candidate in python3.13 python3.12 python3.11 python3; do \
	command -v $$candidate >/dev/null 2>&1 && $$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	&& { command -v $$candidate; break; }; done)

.PHONY: help run test lint typecheck format migrations messages openapi demo serve worker bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(PY):
	@test -n "$(PYTHON)" || { echo "govhall needs Python 3.11 or newer on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Debian packages the platform uses outside Python: a Chinese font that PDFs (licences, reports)
# embed (fonts-wqy-microhei, Apache-2.0 / GPL-3 with font exception) and poppler's pdfsig, the
# independent validator of licence signatures in the tests (with NSS's certutil to trust the
# platform root there). Installed when missing (root or sudo).
SYSTEM_PACKAGES := fonts-wqy-microhei poppler-utils libnss3-tools
$(VENV)/.system-packages: | $(PY)
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; else sudo=sudo; fi; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(VENV)/.runtime-installed: pyproject.toml | $(PY) $(VENV)/.system-packages
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: pyproject.toml | $(PY) $(VENV)/.system-packages
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.runtime-installed

run: export GOVHALL_SEAL_AUTO_CREATE = 1
run: $(VENV)/.runtime-installed ## set up and serve the demo at http://127.0.0.1:8000 (HOST, PORT change it; SQLite under ./var/)
	$(PY) manage.py migrate --no-input -v 0
	$(PY) manage.py collectstatic --no-input -v 0
	$(PY) -m govhall.cli demo
	$(PY) -m govhall.cli serve

demo: $(VENV)/.runtime-installed ## load the demo data only (idempotent)
	$(PY) manage.py migrate --no-input -v 0
	$(PY) -m govhall.cli demo

worker: $(VENV)/.runtime-installed ## run the task worker alone
	$(PY) -m govhall.cli worker

test: $(VENV)/.dev-installed ## lint, type-check, check migrations, run the whole test suite (PostgreSQL when DATABASE_URL is set)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory typecheck
	GOVHALL_TESTING=1 $(PY) manage.py makemigrations --check --dry-run -v 1
	GOVHALL_TESTING=1 $(PY) -m pytest -n $${PYTEST_WORKERS:-auto} --dist loadfile -q

lint: $(VENV)/.dev-installed ## ruff lint and format check
	$(VENV)/bin/ruff check govhall tests scripts bench
	$(VENV)/bin/ruff format --check govhall tests scripts bench

typecheck: $(VENV)/.dev-installed ## mypy with django-stubs
	GOVHALL_TESTING=1 $(VENV)/bin/mypy govhall

format: $(VENV)/.dev-installed ## format the code
	$(VENV)/bin/ruff format govhall tests scripts
	$(VENV)/bin/ruff check --fix govhall tests scripts

migrations: $(VENV)/.dev-installed ## make migrations after a model change
	$(PY) manage.py makemigrations

messages: $(VENV)/.dev-installed ## extract and compile translations (needs GNU gettext)
	cd govhall && $(abspath $(PY)) ../manage.py makemessages -l en --no-obsolete --no-location
	cd govhall && $(abspath $(PY)) ../manage.py compilemessages -l en

openapi: $(VENV)/.dev-installed ## regenerate docs/openapi.json
	$(PY) manage.py openapi_export

bench: $(VENV)/.runtime-installed ## load benchmark on this machine's PostgreSQL; BENCH_ARGS passes options (python -m bench --help)
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | head -n 1)" main start
	@for _ in $$(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
	$(PY) -m bench $(BENCH_ARGS)

clean: ## remove the virtual environment and ./var (the demo database, files and secret)
	rm -rf $(VENV) var
