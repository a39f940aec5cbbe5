# desk's everyday commands. The only thing they need from the machine is a Python 3.12 or newer
# somewhere (see bin/find-python); everything else goes into .venv on first use.
#
#   make run               the whole desk: web, websockets, Celery worker and beat, embedded Redis
#   make test ARGS=...     the test suite (ARGS go to pytest, e.g. ARGS="-k chat -x")
#   make lint              ruff check, ruff format --check and mypy (strict on chats and notifications)
#   make bench             benchmarks against their floors (needs PostgreSQL and Redis; ~10 min)
#   make PYTHON=/path/to/python3.12 ...   use that interpreter for the venv

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
# Reinstalling whenever pyproject.toml is newer than this file keeps the venv in step with the
# dependencies without paying for pip on every command.
STAMP := $(VENV)/.installed
ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint venv bench

help:
	@sed -n 's/^#   //p' Makefile

# The quick start should show demo data, so DEBUG defaults to true here; a DEBUG the user set
# (even DEBUG=false, which then needs SECRET_KEY) is passed through untouched. exec keeps the shell
# out of the way of signals.
run: $(STAMP)
	DEBUG="$${DEBUG-true}" exec $(VENV_PYTHON) -m desk.run

test: $(STAMP)
	$(VENV_PYTHON) -m pytest $(ARGS)

# mypy imports the settings (django-stubs reads the models): DEBUG spares it a SECRET_KEY.
lint: $(STAMP)
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .
	DEBUG=true $(VENV_PYTHON) -m mypy

# On the machine's PostgreSQL and Redis unless DATABASE_URL / REDIS_URL say otherwise; prints one
# table and writes bench/results/latest.json and docs/performance.md (see bench/run.py).
bench: $(STAMP)
	$(VENV_PYTHON) -m bench $(ARGS)

venv: $(STAMP)

# A normal (not order-only) prerequisite: a venv made anew is newer than the stamp, so it gets its
# packages. A venv whose interpreter vanished (a removed pyenv version) counts as missing.
$(STAMP): pyproject.toml $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV_PYTHON):
	@python="$$(sh bin/find-python)" || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv --clear $(VENV)
