# datastreams: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= deploy/local/datastreams.toml
PYTEST_ARGS ?=

include deploy/kafka/kafka.mk

.PHONY: help install lint format test run clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
		{ echo "Python 3.11 is required (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

install: $(VENV)/.installed ## Create .venv and install the project with its dev tools

lint: install ## ruff (format check + lint) and mypy --strict
	$(VENV)/bin/ruff format --check ingest pipeline tests deploy
	$(VENV)/bin/ruff check ingest pipeline tests deploy
	$(VENV)/bin/mypy

format: install ## Format the code with ruff
	$(VENV)/bin/ruff format ingest pipeline tests deploy
	$(VENV)/bin/ruff check --fix ingest pipeline tests deploy

test: install kafka-jars lint ## Install what is missing, start a test broker on free ports, run every test
	$(VENV)/bin/pytest $(PYTEST_ARGS)

run: kafka-up ## Start the local Kafka and the ingress (foreground; Ctrl-C stops both)
	@trap '$(MAKE) --no-print-directory kafka-down' EXIT INT TERM; \
	DATASTREAMS_CONFIG=$(CONFIG) KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(KAFKA_PORT) \
		$(VENV)/bin/datastreams ingress

clean: kafka-down ## Stop the local broker and delete its data and the venv
	rm -rf var $(VENV)
