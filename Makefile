# The commands the README names. Each sets up what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Prefer a real python3.13: pyenv's python3.13 shim fails unless 3.13 is selected, so put the
# version's own bin folder first on PATH (sam build looks for python3.13 there too).
PYENV_ROOT_DIR := $(shell pyenv root 2>/dev/null)
PY313_BIN := $(lastword $(sort $(wildcard $(PYENV_ROOT_DIR)/versions/3.13*/bin)))
export SAM_CLI_TELEMETRY := 0
export PATH := $(if $(PY313_BIN),$(PY313_BIN):)$(PATH)
PYTHON ?= $(if $(PY313_BIN),$(PY313_BIN)/python3.13,$(shell python3.13 -c '' >/dev/null 2>&1 && echo python3.13 || echo python3))

VENV := .venv
PY := $(VENV)/bin/python
TOOLS_VENV := .venv-tools
SAM := $(TOOLS_VENV)/bin/sam
# The runtime interface client alone, apart from every other package, as Lambda's runtime has it.
LAMBDA_RUNTIME := .venv-lambda-check/runtime

.PHONY: help install demo invoke serve send test test-fast fuzz bench lint tools validate build lambda-check ci clean

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# The event file for `make invoke` / `make send`, passed on only when given (the tools list the
# samples otherwise); PORT reaches `make serve` and `make send` through the environment, and so
# does WEBHOOK_SIGNING_SECRET (make send SIGN=...), which is never put on a command line.
EVENT_ARG = $(if $(EVENT),'$(EVENT)')

$(VENV)/.installed: requirements-dev.txt layers/dependencies/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed ## create .venv with the runtime and test packages

demo: install ## run the handler on every file in events/ against the local stack
	$(PY) -m local.commands.demo

invoke: install ## one event through the handler: make invoke EVENT=events/http-api-tally.json
	@$(PY) -m local.commands.invoke $(EVENT_ARG)

serve: install ## serve the handler at http://127.0.0.1:3000/webhooks/<provider> (PORT=3001)
	@$(PY) -m local.commands.serve

send: install ## replay an event file's request: make send EVENT=events/... [URL=https://... SIGN=hubspot]
	@$(PY) -m local.commands.send $(EVENT_ARG) $(if $(URL),--url '$(URL)') $(if $(SIGN),--sign '$(SIGN)')

test: install $(LAMBDA_RUNTIME)/.installed ## run the whole test suite
	$(PY) -m pytest

# The tests not marked slow (pyproject.toml): no real waits, no fleets of processes, no
# subprocess end-to-end runs, no long fuzz runs. The loop to run while changing code.
test-fast: install ## the unit tests and the fast functional tier (under a minute)
	$(PY) -m pytest -m "not slow" -p no:cacheprovider -q

# FUZZ_SCALE multiplies every hypothesis count in tests/integration/fuzzing/: 4,030 examples × 4 = 16,120.
fuzz: install ## the fuzz suite at 16,120 examples (make test runs 4,030)
	FUZZ_SCALE=4 $(PY) -m pytest tests/integration/fuzzing -p no:cacheprovider --hypothesis-show-statistics

bench: install ## benchmarks against a naive baseline (WRITE=1 also rewrites docs/benchmarks.md)
	$(PY) -m bench.run --write $(if $(WRITE),docs/benchmarks.md,bench/results/benchmarks.md)

# .venv-tools/bin/sam is a wrapper: telemetry off unless you opt in (no first-run notice), and
# python3.13's own folder first on PATH (sam build looks for python3.13 there), however it is run.
$(TOOLS_VENV)/.installed: requirements-tools.txt
	test -x $(TOOLS_VENV)/bin/python || $(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-tools.txt
	grep -q sam-cli $(SAM) || mv -f $(SAM) $(TOOLS_VENV)/bin/sam-cli
	printf '%s\n' '#!/bin/sh' \
	  '# The SAM CLI (sam-cli beside this file), as make runs it.' \
	  'export SAM_CLI_TELEMETRY="$${SAM_CLI_TELEMETRY:-0}"' \
	  '$(if $(PY313_BIN),export PATH="$(PY313_BIN):$$PATH")' \
	  'exec "$$(dirname "$$0")/sam-cli" "$$@"' > $(SAM)
	chmod +x $(SAM)
	touch $@

tools: $(TOOLS_VENV)/.installed ## install the SAM CLI into .venv-tools

lint: install ## ruff and cfn-lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/cfn-lint template.yaml

validate: tools ## sam validate --lint
	$(SAM) validate --lint

build: tools install ## sam build (function and dependencies layer), then their bytecode (docs/cold-start.md)
	$(SAM) build
	$(PY) -m local.commands.bytecode

$(LAMBDA_RUNTIME)/.installed: requirements-lambda-check.txt $(VENV)/.installed
	rm -rf $(LAMBDA_RUNTIME)
	$(PY) -m pip install --quiet --disable-pip-version-check --target $(LAMBDA_RUNTIME) -r requirements-lambda-check.txt
	touch $@

lambda-check: build install $(LAMBDA_RUNTIME)/.installed ## the sam build output under awslambdaric, on every event
	$(PY) -m local.commands.lambda_check

ci: lint validate build lambda-check test fuzz ## everything CI runs

clean: ## remove virtualenvs and build output
	rm -rf $(VENV) $(TOOLS_VENV) .venv-lambda-check .aws-sam .pytest_cache .ruff_cache .hypothesis
