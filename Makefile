# Netclode: `make up` runs it locally, `make test` tests it.
SHELL := /bin/bash
VENV := .venv
NETCLODE := $(VENV)/bin/netclode
PYTEST_ARGS ?=

.PHONY: up down status setup setup-dev test test-fast lint typecheck format proto bench

up: setup  ## Install what is missing and start Netclode in the background
	@$(NETCLODE) up

down:  ## Stop the local Netclode
	@$(NETCLODE) down

status:
	@$(NETCLODE) status

setup:
	@scripts/setup.sh

setup-dev:
	@scripts/setup.sh --dev

test: setup-dev  ## Install what the tests need and run them all
	@scripts/test.sh $(PYTEST_ARGS)

test-fast: setup-dev  ## While developing: lint and the fast tier (tests/unit: no stack, no sandbox)
	@scripts/test.sh tests/unit $(PYTEST_ARGS)

lint: setup-dev
	@$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check . && $(VENV)/bin/lint-imports --no-cache

typecheck: setup-dev  ## Type-check the packages (mypy, configured in pyproject.toml)
	@$(VENV)/bin/mypy

format: setup-dev
	@$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

proto: setup-dev  ## Regenerate protocol/netclode_protocol/v1 from protocol/proto
	@scripts/gen-proto.sh

bench: setup-dev  ## Run every benchmark in bench/
	@for b in bench/*.py; do echo "== $$b"; PYTHONPATH=. $(VENV)/bin/python $$b || exit 1; done

-include mk/*.mk
