# Two commands matter: `make bench` and `make test` (see README.md).
SHELL := /bin/bash
PY_SYS ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HARNESS := $(VENV)/bin/harness
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

SUITE ?= default
BACKEND ?= auto
NATIVE_ARCH := $(shell $(PY_SYS) -c "import platform; m = platform.machine().lower(); print({'x86_64': 'amd64', 'aarch64': 'arm64'}.get(m, m))")
ARCH ?= $(shell $(PY_SYS) -c "import platform; m = platform.machine().lower(); print({'x86_64': 'amd64', 'aarch64': 'arm64'}.get(m, m))")
RUNTIMES ?=  # empty: the suite's own subjects, its variants included (e.g. RUNTIMES=go,rust)
BENCH_ARGS ?=

RESULTS ?= $(shell ls -t results/*.json 2>/dev/null | head -1)
BASELINE ?=
CANDIDATE ?= $(RESULTS)
BASE ?= origin/main

.PHONY: setup bench build test lint test-fast test-workloads test-python test-native images bench-harness env clean report gate ab

$(STAMP): pyproject.toml
	test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

# The machine's own packages, Docker engine, qemu and base images (idempotent; see scripts/setup-machine.sh).
setup: $(STAMP)
	scripts/setup-machine.sh

bench: $(STAMP)
	@if [ "$(BACKEND)" = docker ] || [ "$(ARCH)" != "$(NATIVE_ARCH)" ]; then scripts/setup-machine.sh; fi
	$(HARNESS) run --suite $(SUITE) --backend $(BACKEND) --arch $(ARCH) $(if $(strip $(RUNTIMES)),--runtimes $(strip $(RUNTIMES))) $(BENCH_ARGS)

build: $(STAMP)
	$(HARNESS) build --suite $(SUITE) --backend $(BACKEND) --arch $(ARCH)

# Base images for the docker backend where no registry is reachable (see README).
images: $(STAMP)
	$(HARNESS) images bootstrap --arch $(ARCH)

env: $(STAMP)
	$(HARNESS) env

# Every test: the linters, then the Python suite (unit, each workload's own unit tests as its runtime's
# descriptor declares them, conformance of the workloads, faults, an end-to-end quick run, and the docker
# backend, which needs a running Docker engine).
test: setup lint test-python

# ruff (lint and format) and mypy over the harness, its scripts and tests; actionlint and zizmor over the
# CI workflows (zizmor's kept findings are justified in .github/zizmor.yml).
ACTIONLINT := $(VENV)/bin/actionlint
$(ACTIONLINT):
	GOBIN=$(CURDIR)/$(VENV)/bin go install github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

LINTED := harness scripts tests benchmarks

lint: $(STAMP) $(ACTIONLINT)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy
	$(ACTIONLINT) .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline --quiet .github/workflows/

# The same without the docker backend's tests, for a machine with no engine.
test-native: lint test-workloads
	$(PY) -m pytest -q -m "not docker"

# A minute or two: the tests that neither build the real workloads nor need Docker.
test-fast: lint
	$(PY) -m pytest -q -m "not slow"

# Each workload's own unit tests (go test, cargo test, mvn test, ...), as every runtime's descriptor declares them.
test-workloads: $(STAMP)
	$(PY) -m pytest -q tests/test_workloads.py -k own_unit_tests

PYTEST_ARGS ?= --durations=40
test-python: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

# HTML report of the newest results file (or RESULTS=path ...).
report: $(STAMP)
	$(HARNESS) report $(RESULTS)

# Gate two results files: make gate BASELINE=a.json CANDIDATE=b.json
gate: $(STAMP)
	$(HARNESS) gate --baseline $(BASELINE) --candidate $(CANDIDATE) --verdict gate-verdict.json

# Base ref vs working tree, interleaved in one session, then gated: on harness ab's own suite (the gate
# suite) unless SUITE is given on the command line or in the environment.
ab: $(STAMP)
	$(HARNESS) ab --base $(BASE) $(if $(filter file,$(origin SUITE)),,--suite $(SUITE)) --verdict gate-verdict.json $(BENCH_ARGS)

# The harness's own hot paths (pytest-benchmark); not part of `make test`.
bench-harness: $(STAMP)
	$(PY) -m pytest -q benchmarks --benchmark-only -p no:cacheprovider

clean:
	rm -rf build workloads/rust/target workloads/java/target
