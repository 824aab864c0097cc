# Task runner. Everything runs from the project's own virtualenv in ./venv (Pulumi.yaml uses it too).
STACK ?= dev
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python

.PHONY: venv tools test up preview clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create ./venv with the program's and the tests' Python packages.

tools: ## Install the Debian tools the tests hand artefacts to (needs root).
	bash .ci/install-tools

test: venv ## Run the whole test suite.
	$(PY) -m pytest

up: venv ## pulumi up for STACK (needs the Pulumi CLI and cloud credentials).
	pulumi up --stack $(STACK)

preview: venv ## pulumi preview for STACK.
	pulumi preview --diff --stack $(STACK)

clean:
	rm -rf $(VENV) .pytest_cache
