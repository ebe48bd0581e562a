# Ferryman — every target installs what it needs by itself.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: test lint typecheck contracts manifests bench stress chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

## test: lint, type-check, architecture contracts and the whole pytest suite with coverage
test: $(STAMP) browser git-servers prometheus lint typecheck contracts
	$(BIN)/python -m pytest --cov --cov-report=term $(PYTEST_ARGS)
	$(BIN)/python -m coverage report --include='src/ferryman/domain/*' --fail-under=100

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

## manifests: regenerate the CRD from the pydantic models
manifests: $(STAMP)
	$(BIN)/ferryman crd > config/crd/bases/pipelines.weave.works_pipelines.yaml

## bench: every benchmark on the production path (ferryman apiserver, ferryman controller and
## ferryman up as processes, wrk, git http-backend); see docs/performance.md. Installs wrk.
bench: $(STAMP) wrk
	$(BIN)/python -m bench.status_size_bench
	$(BIN)/python -m bench.apiserver_bench
	$(BIN)/python -m bench.webhook_bench
	$(BIN)/python -m bench.promotion_bench
	$(BIN)/python -m bench.ui_bench
	$(BIN)/python -m bench.controller_bench

## stress: crash points x1000, conflict storm x10000, Hypothesis stress profile, integration suite x100
stress: $(STAMP)
	BIN=$(BIN) bench/stress.sh

## chaos: real processes under a seeded stream of faults, checked from Git and the fake host
##        (CHAOS_FAULTS=N CHAOS_SEED=S; last line: chaos: seed=S faults=N ... stuck=K)
CHAOS_FAULTS ?= 200
CHAOS_SEED ?= 1
CHAOS_ARGS ?=
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --faults $(CHAOS_FAULTS) --seed $(CHAOS_SEED) $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage build src/*.egg-info

.PHONY: demo browser git-servers prometheus wrk

## demo: Ferryman on this machine — embedded API, controller, web UI, local Flux and a demo pipeline
demo: $(STAMP)
	$(BIN)/ferryman up --dir .ferryman $(DEMO_ARGS)

## browser: Debian's chromium for the end-to-end tests (Playwright drives it; never a downloaded one)
browser:
	@command -v chromium >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }

## git-servers: Debian's openssh-server for the Git-over-SSH tests (each test runs its own sshd
## with its own config, host key and port; the system service is never used)
git-servers:
	@test -x /usr/sbin/sshd || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server; }

## prometheus: Debian's prometheus for the prometheus-check tests (each test runs its own server
## with its own config, scraping an exporter the test controls; the system service is never used)
prometheus:
	@command -v prometheus >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; }

## wrk: Debian's wrk, the HTTP load generator of the benchmarks
wrk:
	@command -v wrk >/dev/null || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y wrk; }

.PHONY: screenshots

## screenshots: docs/ui-list.png, docs/pipeline-page.png and docs/pipeline-phone.png, taken in
## Debian's chromium from a fresh `ferryman up` demo on free ports (scripts/screenshots.py)
screenshots: $(STAMP) browser
	$(BIN)/python scripts/screenshots.py --out docs
