# floorboard: `make demo` runs the product on a simulated center; `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST := $(VENV)/bin/pytest

.PHONY: install demo test test-fast test-e2e services lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@python3 -c 'import sys; assert sys.version_info >= (3, 11), "floorboard needs Python 3.11 or newer"'
	@python3 -m venv $(VENV) || { echo "python3 -m venv failed: install python3-venv (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $@

demo: install
	$(VENV)/bin/floorboard demo

services:
	@scripts/test-services.sh

# Browser tests run in their own pytest process: Playwright's sync API leaves an event loop
# running that would break the asyncio tests collected after it.
test: install services
	$(VENV)/bin/ruff check .
	$(PYTEST) -m "not e2e" -q
	$(PYTEST) -m e2e tests/e2e -q

test-fast: install
	$(PYTEST) tests/unit -q

lint: install
	$(VENV)/bin/ruff check .

bench: install services
	$(PY) bench/bench_staffing.py
	$(PY) bench/bench_pipeline.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts floorboard-demo-history.db
