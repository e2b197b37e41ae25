# anycast-lab: `make lab-up` runs the default lab, `make test` runs every test.
# `make setup` is idempotent: it re-runs apt only when a needed package is missing
# and pip only when pyproject.toml changed.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    ?= .venv
PY      := $(VENV)/bin/python
PYTEST  := $(VENV)/bin/pytest
STAMPS  := .stamps
TOPO    ?= topologies/workshop.yml

APT_PACKAGES := frr bird2 unbound nsd knot knot-module-geoip dnsutils knot-dnsutils dnsperf iproute2 iptables \
                nftables procps chromium chromium-driver stayrtr frr-rpki-rtrlib
# the dashboard's third-party JavaScript (cytoscape.js), declared in $(WEB)/package.json and
# installed from its lock file into $(WEB)/node_modules, where `lab dashboard` serves it from
WEB     := lab/dashboard/web

.PHONY: help setup apt venv web dashboard test test-unit test-integration lint typecheck bench-dns bench-scopes bench-lab bench-ttl images lab-up lab-down clean

help:
	@echo "make setup        install Debian packages and the Python venv (idempotent)"
	@echo "make test         lint, type-check and run every test (unit + integration, needs root)"
	@echo "make dashboard    the live web page of the running lab (lab dashboard, localhost:8470)"
	@echo "make bench-dns    dnsperf: dnsnode against NSD and Knot on the same zone (and a steered mix)"
	@echo "make bench-scopes ECS scopes: dnsnode and Knot's geoip module judged on the same file"
	@echo "make bench-lab    time from lab up to converged, and memory (workshop, global, 200 routers)"
	@echo "make bench-ttl    ttl-tradeoff: GeoDNS failover against authoritative load at TTL 2, 5, 10 s"
	@echo "make images       build the containerlab images (anycast-lab/*:0.1; needs dockerd)"
	@echo "make lab-up       bring up the default lab (TOPO=$(TOPO))"
	@echo "make lab-down     tear it down"

setup: apt venv web

apt:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(STAMPS)/venv

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

web: $(WEB)/node_modules/.package-lock.json

# npm ci writes node_modules/.package-lock.json: present and newer than the lock = installed
$(WEB)/node_modules/.package-lock.json: $(WEB)/package.json $(WEB)/package-lock.json
	@command -v npm >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error
	@touch $@

lint: venv
	$(VENV)/bin/ruff check dnsnode lab tests bench examples
	$(VENV)/bin/ruff format --check dnsnode lab tests bench examples
	$(VENV)/bin/lint-imports --no-cache

typecheck: venv
	$(VENV)/bin/mypy dnsnode lab

# pytest exits 5 when it collected nothing: that must fail, never pass silently.
# Two workers (pytest-xdist), each test file on one of them: a file's module-scoped lab stays
# one lab, and two labs run side by side as users may run them (names, namespaces, containers
# and state files are per lab). Most of a lab test is waiting on timers, not CPU.
# TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: setup lint typecheck
	$(PYTEST) -q -ra -n $(TEST_WORKERS) --dist loadfile --durations=25 tests

test-unit: venv
	$(PYTEST) -q -ra tests/unit

test-integration: setup
	$(PYTEST) -q -ra tests/integration

bench-dns: setup
	$(PY) bench/bench_dns.py

bench-scopes: setup
	$(PY) bench/bench_scopes.py

bench-lab: setup
	$(PY) -m bench.bench_lab_up --routers 200

bench-ttl: setup
	$(PY) -m bench.bench_ttl_tradeoff

images: venv
	scripts/build-images.sh

lab-up: setup
	$(VENV)/bin/lab up $(TOPO)

dashboard: setup
	$(VENV)/bin/lab dashboard

lab-down: venv
	$(VENV)/bin/lab down

clean:
	rm -rf $(VENV) $(STAMPS) *.egg-info $(WEB)/node_modules
