# datastreams: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
CONFIG ?= deploy/local/datastreams.toml
PYTEST_ARGS ?=

include deploy/kafka/kafka.mk

.PHONY: help install lint format test test-all test-fast check docs run clean demo bench bench-smoke bench-tools chaos chaos-lb fuzz

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
	$(VENV)/bin/ruff format --check ingest pipeline tests tools
	$(VENV)/bin/ruff check ingest pipeline tests tools
	$(VENV)/bin/mypy

format: install ## Format the code with ruff
	$(VENV)/bin/ruff format ingest pipeline tests tools
	$(VENV)/bin/ruff check --fix ingest pipeline tests tools

# The tests run on two pytest-xdist workers, each with a broker of its own (tests/conftest.py
# GROUPS keeps the slow ones apart), while lint and docs run beside them: a failure of any of the
# three fails `make test` once all three are done.
TEST_WORKERS ?= 2
test: install kafka-jars deploy-tools bench-tools ## Install what is missing; lint, build the docs and run every test (own brokers on free ports), side by side
	@$(MAKE) --no-print-directory -j3 lint docs test-all

test-all: install
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

SITE_DIR := var/site
# --strict: a broken link, a missing anchor or a page left out of the nav fails the build.
docs: install ## Build the docs site strictly (mkdocs) into var/site
	$(VENV)/bin/mkdocs build --strict --site-dir $(SITE_DIR)

# The tiers are markers that tests/conftest.py sets; this one needs no broker, no jars and none
# of the deploy tools (a test that asks for the broker anyway fails).
FAST_TESTS := not kafka and not slow and not deploy
test-fast: install ## The unit tests alone (no broker, no deploy tools): well under a minute
	$(VENV)/bin/pytest -m "$(FAST_TESTS)" $(PYTEST_ARGS)

check: lint test-fast ## The quick loop: lint, then the fast tests

# `make test` sends the fuzzer's default sample (500 requests); this sends FUZZ_REQUESTS.
# FUZZ_KEEP_GOING=1 counts every finding over the whole budget instead of stopping at the first
# ones to shrink them; FUZZ_SEED=<n> replaces the fixed (derandomized) sequence;
# FUZZ_REGRESSIONS=0 leaves out tests/fuzz/regressions.py (see tests/fuzz/settings.py).
FUZZ_REQUESTS ?= 10000
FUZZ_KEEP_GOING ?=
FUZZ_SEED ?=
FUZZ_REGRESSIONS ?=
fuzz: install kafka-jars ## Hypothesis vs the real ingress and broker, 10,000 requests; table by outcome
	FUZZ_REQUESTS=$(FUZZ_REQUESTS) FUZZ_KEEP_GOING=$(FUZZ_KEEP_GOING) FUZZ_SEED=$(FUZZ_SEED) \
		FUZZ_REGRESSIONS=$(FUZZ_REGRESSIONS) $(VENV)/bin/pytest tests/fuzz $(PYTEST_ARGS)

WORKER_CONFIG ?= deploy/workers/worker.toml

run: kafka-up ## Start the local Kafka, the ingress (:8080) and both workers (:9101, :9102); Ctrl-C stops all
	@trap 'kill $$(jobs -p) 2>/dev/null; wait; $(MAKE) --no-print-directory kafka-down' EXIT INT TERM; \
	export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(KAFKA_PORT); \
	DATASTREAMS_WORKER_CONFIG=$(WORKER_CONFIG) $(VENV)/bin/datastreams worker alerting & \
	DATASTREAMS_WORKER_CONFIG=$(WORKER_CONFIG) $(VENV)/bin/datastreams worker scoring & \
	DATASTREAMS_CONFIG=$(CONFIG) $(VENV)/bin/datastreams ingress

clean: kafka-down ## Stop the local broker and delete its data and the venv
	rm -rf var $(VENV)

# The demo, the benchmark and the chaos run start a broker of their own (own port and data dir),
# never the one of `make run` or of a test session; it is stopped when they end.
DEMO_KAFKA_PORT ?= 19492
BENCH_KAFKA_PORT ?= 19592
BENCH_OUT ?= var/bench
define with_broker
	@trap '$(KAFKA_BROKER) down --data-dir var/kafka-$(1)' EXIT INT TERM; \
	$(KAFKA_BROKER) up --port $(2) --data-dir var/kafka-$(1) --libs-dir $(KAFKA_LIBS_DIR) && \
	$(3)
endef

demo: install kafka-jars ## Kafka + ingress (+ workers) + the simulator for about a minute, printing what flows where
	$(call with_broker,demo,$(DEMO_KAFKA_PORT),$(PY) -m tools.demo --bootstrap 127.0.0.1:$(DEMO_KAFKA_PORT) --seconds 60)

# wrk (Debian's package) drives the benchmark's closed-loop runs: compiled, so the load generator
# is not what limits them.
bench-tools: ## Install wrk (Debian package) if missing
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; }

bench: install kafka-jars bench-tools ## Full benchmark (a few minutes): ceilings A/B, ingress, express sample, kafka-hooks, per CPU-second, profile; var/bench/ and the table in docs/performance.md
	$(call with_broker,bench,$(BENCH_KAFKA_PORT),$(VENV)/bin/datastreams bench --bootstrap 127.0.0.1:$(BENCH_KAFKA_PORT) --out $(BENCH_OUT) --profile)
	$(PY) -m tools.bench.doc_table $(BENCH_OUT)/bench.json docs/performance.md

bench-smoke: install kafka-jars bench-tools ## Short benchmark run that proves it works end to end (CI-able; figures not meaningful)
	$(call with_broker,bench,$(BENCH_KAFKA_PORT),$(VENV)/bin/datastreams bench --bootstrap 127.0.0.1:$(BENCH_KAFKA_PORT) --out $(BENCH_OUT)-smoke --smoke)

# The shared broker of the chaos run; the broker-outage and cluster scenarios start their own.
CHAOS_KAFKA_PORT ?= 19692
CHAOS_OUT ?= var/chaos
chaos: install kafka-jars haproxy-tools ## Every fault scenario under simulator load (~10 min): one table, var/chaos/chaos.json; fails on any loss
	$(call with_broker,chaos,$(CHAOS_KAFKA_PORT),$(PY) -m tools.chaos --bootstrap 127.0.0.1:$(CHAOS_KAFKA_PORT) --out $(CHAOS_OUT) --libs-dir $(KAFKA_LIBS_DIR))
	$(PY) -m tools.chaos.doc_table $(CHAOS_OUT)/chaos.json docs/deploying.md

# The load-balancer family alone: HAProxy (deploy/haproxy/haproxy.cfg) before three replicas.
# A passing run rewrites the measured table of docs/deploying.md "Behind a load balancer".
LB_SCENARIOS := lb-rolling-restart lb-replica-sigkill lb-replica-stuck lb-broker-restart
chaos-lb: install kafka-jars haproxy-tools ## The scenarios behind HAProxy alone (~5 min): rolling restart, replica killed or stuck, broker restart
	$(call with_broker,chaos,$(CHAOS_KAFKA_PORT),$(PY) -m tools.chaos --bootstrap 127.0.0.1:$(CHAOS_KAFKA_PORT) --out $(CHAOS_OUT)/lb --libs-dir $(KAFKA_LIBS_DIR) --only $(LB_SCENARIOS))
	$(PY) -m tools.chaos.doc_table $(CHAOS_OUT)/lb/chaos.json docs/deploying.md

# ---- deploy: the tools that check deploy/ (tests/deploy). hadolint and kubernetes-validate are
# dev dependencies (pip); promtool and the Prometheus server come from Debian's `prometheus`
# package; kustomize is built from the Go module proxy into var/tools/bin (about a minute, once).
TOOLS_BIN := var/tools/bin
KUSTOMIZE_VERSION ?= v5.7.1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deploy-tools prometheus-tools haproxy-tools deploy-check k8s-config

prometheus-tools: ## Install promtool and the Prometheus server (Debian package `prometheus`) if missing
	@if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends prometheus; \
	fi

# The load-balancer scenarios (tools/chaos/balancer) and tests/deploy run the shipped
# deploy/haproxy/haproxy.cfg through a real HAProxy.
haproxy-tools: ## Install HAProxy (Debian package `haproxy`) if missing
	@if ! command -v haproxy >/dev/null; then \
		$(SUDO) apt-get update -q && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends haproxy; \
	fi

$(TOOLS_BIN)/kustomize:
	GOBIN=$(abspath $(TOOLS_BIN)) GOTOOLCHAIN=local \
		go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)

deploy-tools: install prometheus-tools haproxy-tools $(TOOLS_BIN)/kustomize ## Install what tests/deploy needs: promtool, prometheus, haproxy, kustomize

deploy-check: deploy-tools kafka-jars ## Lint the Dockerfile, validate deploy/k8s, unit-test the alerts, run the Prometheus end-to-end test
	$(VENV)/bin/pytest tests/deploy $(PYTEST_ARGS)

K8S_WORKER_FILES := alert-rules.toml scoring.toml lead-model.example.json
k8s-config: ## Copy the workers' default rule/scoring/model files into the kustomize base
	cp $(addprefix deploy/workers/,$(K8S_WORKER_FILES)) deploy/k8s/base/config/
