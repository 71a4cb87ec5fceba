# assist-chain: event-sourced social assistance on Apache Kafka.
# `make help` lists the targets. Two commands do everything on a fresh machine:
#   make run    the whole system with a demo      make test   the whole test suite

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DATA ?= var
KAFKA_PORT ?= 9092
KAFKA_CONTROLLER_PORT ?= 9093
KAFKACTL := $(PYTHON) deploy/kafka/kafkactl.py
STACK := $(PY) -m deploy.local.stack

.DEFAULT_GOAL := help
.PHONY: help install kafka-jars broker-up broker-down broker-status cluster-up cluster-down run down status logs demo \
        test test-unit test-integration lint fmt contracts bench screenshot browser lock clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*?## "} /^[a-zA-Z_-]+:.*?## / {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	@echo "==> installing the virtual environment in $(VENV) (pinned by requirements.lock)"
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

install: $(STAMP) ## Create the virtualenv with the pinned dependencies

kafka-jars: ## Fetch the Kafka broker's jars from Maven Central (cached outside the tree)
	@$(KAFKACTL) fetch

broker-up: ## Start the local single-node KRaft broker (idempotent)
	@$(KAFKACTL) up --data-dir $(DATA)/kafka --port $(KAFKA_PORT) --controller-port $(KAFKA_CONTROLLER_PORT)

broker-down: ## Stop the local broker (idempotent)
	@$(KAFKACTL) down --data-dir $(DATA)/kafka

broker-status: ## Is the local broker running? Where is its log?
	@$(KAFKACTL) status --data-dir $(DATA)/kafka

cluster-up: ## Start a three-node KRaft cluster on this machine (replication 3, min ISR 2)
	@$(KAFKACTL) cluster-up --data-dir $(DATA)/kafka-cluster

cluster-down: ## Stop the three-node cluster (idempotent)
	@$(KAFKACTL) cluster-down --data-dir $(DATA)/kafka-cluster

run: install broker-up ## Run the whole system locally and feed a demo
	@$(STACK) up --data-dir $(DATA) --bootstrap 127.0.0.1:$(KAFKA_PORT)
	@$(STACK) demo --data-dir $(DATA)

down: ## Stop every service and the broker
	@if [ -x $(PY) ]; then $(STACK) down --data-dir $(DATA); fi
	@$(KAFKACTL) down --data-dir $(DATA)/kafka

status: install ## Every service's process, port and health
	@$(STACK) status --data-dir $(DATA)

logs: ## Follow every service's log
	@tail -F $(DATA)/log/*.log

test: install browser ## Run the whole test suite against a real broker of its own
	@$(PY) -m pytest

# The console test drives a real headless Chromium: Debian's, never a downloaded build.
browser: ## Install Debian's chromium and chromium-driver if missing (idempotent)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "==> installing chromium and chromium-driver with apt-get"; \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# One picture per page, each taken by the page's own browser test on a system it starts.
PAGE_TESTS := tests/e2e/test_console.py tests/e2e/test_department_pages.py \
	tests/e2e/test_auditor_pages.py tests/e2e/test_policy_pages.py
PAGE_PICTURES := console worklist referral household impact

screenshot: install browser ## Write one picture per page into docs/ (console, worklist, referral, household, impact)
	@mkdir -p docs && cd docs && rm -f $(addsuffix .png,$(PAGE_PICTURES))
	@ASSIST_SCREENSHOT_DIR=$(CURDIR)/docs $(PY) -m pytest -q -p no:cacheprovider $(PAGE_TESTS)
	@for page in $(PAGE_PICTURES); do \
		test -s docs/$$page.png || { echo "docs/$$page.png was not written"; exit 1; }; \
		echo "wrote docs/$$page.png"; done

test-unit: install ## Only the tests that need no broker
	@$(PY) -m pytest tests/unit tests/contract

lint: install ## ruff and mypy --strict
	@$(PY) -m ruff check .
	@$(PY) -m ruff format --check .
	@$(PY) -m mypy events contracts services deploy

fmt: install ## Format the code
	@$(PY) -m ruff check --fix .
	@$(PY) -m ruff format .

contracts: install ## Regenerate contracts/ (JSON Schema, AsyncAPI) from events/
	@$(PY) -m contracts.generate

bench: install ## Benchmark the loop, a policy impact and re-screening (quick: BENCH_ARGS="--households 2000 --impact-households 10000")
	@$(PY) -m bench $(BENCH_ARGS)

lock: ## Re-pin requirements.lock from pyproject.toml (after changing a dependency)
	@rm -rf /tmp/assist-lock-venv && $(PYTHON) -m venv /tmp/assist-lock-venv
	@/tmp/assist-lock-venv/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@/tmp/assist-lock-venv/bin/pip freeze --exclude-editable --exclude assist-chain > requirements.lock
	@rm -rf /tmp/assist-lock-venv
	@echo "requirements.lock updated"

clean: down ## Stop everything and delete local data (events included!)
	@rm -rf $(DATA)
