# The two commands a newcomer needs:
#   make lab    installs what is missing, brings the stack up and opens JupyterLab on notebooks/
#   make test   installs what is missing and runs every test on an isolated stack of its own
# Everything else here is a convenience around the `omniflow` launcher.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
FUZZ_EXAMPLES ?= 250
# Notebooks under nbval: compare outputs, except what is volatile (see notebooks/sanitize.cfg).
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg

.PHONY: lab test test-fast up down status logs install browser bench lint clean help lesson check-prs audit faults-long fuzz-long bench-quick

help:
	@sed -n '2,4p' Makefile

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing the project into $(VENV) (a few minutes the first time) ..."
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[lab,test]'
	@echo "installed."
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/omniflow up
	$(BIN)/python -m omniflow.lab

test: $(STAMP) browser
	$(BIN)/omniflow run --isolated -- \
		$(BIN)/python -m pytest tests notebooks $(NBVAL) -m "not slow" $(PYTEST_ARGS)

# Unit tests of pure logic only: no stack needed.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# Debian's Chromium for the real-browser tests (a test tool's own browser download fails here).
browser:
	@command -v chromium >/dev/null 2>&1 || sh scripts/install-chromium.sh

# Run one lesson's notebook under nbval against the running stack: make lesson N=03
lesson: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) notebooks/$(N)-*.ipynb

# Validate the PR write-ups and run their test commands against the running stack.
check-prs: $(STAMP)
	$(BIN)/python -m omniflow.prs check

up: $(STAMP)
	$(BIN)/omniflow up

down:
	@test -x $(BIN)/omniflow && $(BIN)/omniflow down || true

status:
	$(BIN)/omniflow status

logs:
	$(BIN)/omniflow logs

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab,test,bench]'
	$(BIN)/omniflow run --isolated -- $(BIN)/python -m benchmarks

bench-quick: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[lab,test,bench]'
	$(BIN)/omniflow run --isolated -- $(BIN)/python -m benchmarks --quick

# The long fault profile: minutes of sustained load with repeated kills and restarts.
faults-long: $(STAMP)
	$(BIN)/omniflow run --isolated -- \
		$(BIN)/python -m pytest tests/faults -m slow $(PYTEST_ARGS)

fuzz-long: $(STAMP)
	OMNIFLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/omniflow run --isolated -- \
		$(BIN)/python -m pytest tests/fuzz $(PYTEST_ARGS)

# Audit the installed dependencies (needs the advisory database over the network).
audit: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-audit
	PYTHON=$(BIN)/python .ci/audit

lint: $(STAMP)
	$(BIN)/python -m ruff check stack tests benchmarks

clean: down
	rm -rf .omniflow
