# Everyday commands. `make up` and `make test` are all a newcomer needs (see README.md).
SHELL := /bin/bash
PYTHON := .venv/bin/python
export TF_CLI_CONFIG_FILE := $(CURDIR)/.local/terraformrc
export TF_IN_AUTOMATION := 1

.DEFAULT_GOAL := help
.PHONY: help setup build up outputs down test test-fast lint format docs docs-check bench emulator-start emulator-stop

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-15s %s\n", $$1, $$2}'

setup: ## Install toolchains and virtualenvs (idempotent; fast when done)
	@bash local/setup.sh

build: setup ## Build the Lambda zips and the Pillow layer into dist/
	@./build.sh

up: build ## Deploy the whole stack on the local emulator and print the page URL
	@python3 -m local.emulator start
	@$(PYTHON) -m local.stack up

outputs: ## Print `terraform output -json` of the local deployment
	@$(PYTHON) -m local.stack outputs

down: ## Stop the local emulator and remove its state and the local deployment
	@python3 -m local.emulator stop --purge
	@rm -rf .local/stack

test: build ## Run the whole test suite (starts and stops its own emulator)
	@bash local/setup.sh --browser
	@$(PYTHON) -m local.test_tiers

test-fast: setup ## Only the fast tiers: unit and terraform plan tests
	@$(PYTHON) -m pytest -m "unit or terraform"

lint: setup ## ruff and terraform fmt
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@terraform fmt -check -recursive

format: setup ## Apply ruff format and terraform fmt
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .
	@terraform fmt -recursive

docs: setup ## Regenerate the inputs/outputs tables of modules/*/README.md and docs/reference.md
	@$(PYTHON) -m tools.tfdocs

docs-check: setup ## Fail when a generated inputs/outputs table is stale (make test checks it too)
	@$(PYTHON) -m tools.tfdocs --check

bench: ## Resize benchmark (~7 min): docs/benchmarks.md, docs/benchmarks/results.json and ratios.png
	@python3 bench/run.py

emulator-start: setup ## Start only the local emulator (port 4566)
	@python3 -m local.emulator start

emulator-stop: ## Stop the local emulator, keeping its state
	@python3 -m local.emulator stop
