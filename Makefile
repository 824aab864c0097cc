# Task runner. Everything runs from the project's own virtualenv in ./venv (Pulumi.yaml uses it too).
# STACK=local (the default) keeps its state in ./.pulumi-state; other stacks use your `pulumi login`.
STACK ?= local
PYTHON ?= python3
VENV := venv
PY := $(VENV)/bin/python
LOCAL_STATE := $(CURDIR)/.pulumi-state

ifeq ($(STACK),local)
PULUMI := PULUMI_BACKEND_URL=file://$(LOCAL_STATE) PULUMI_CONFIG_PASSPHRASE="$${PULUMI_CONFIG_PASSPHRASE-}" pulumi
NEW_STACK_FLAGS := --secrets-provider passphrase
else
PULUMI := pulumi
NEW_STACK_FLAGS :=
endif

.PHONY: venv tools test test-fast compose plan plans bench up preview destroy restore recover clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed ## Create ./venv with the program's and the tests' Python packages.

tools: ## Install the tools the tests hand artefacts to (Debian 12, needs root).
	bash .ci/install-tools

test: venv ## Run the whole test suite: the unit, tools and e2e tiers (what .ci/run does).
	$(PY) -m pytest

test-fast: venv ## Run the unit tier only: the program under mocks, seconds, no root, no tools.
	$(PY) -m pytest -m unit

compose: venv ## Regenerate compose/ from the service catalog.
	$(PY) -m components.compose

plan: venv ## Print STACK's offline plan (desired state under mocks; no CLI, no credentials).
	$(PY) -m offline.plan $(STACK)

plans: venv ## Rewrite plans/<stack>.md for every example stack (commit them).
	$(PY) -m offline.plan --write

bench: venv ## Evaluation time of every example stack against its SDK import floor.
	$(PY) -m offline.bench

up: venv ## pulumi up for STACK (the Pulumi CLI; for cloud stacks also credentials and an ssh-agent).
	$(if $(filter local,$(STACK)),mkdir -p $(LOCAL_STATE))
	$(PULUMI) stack select --create $(NEW_STACK_FLAGS) $(STACK)
	$(PULUMI) up --stack $(STACK)

preview: venv ## pulumi preview for STACK.
	$(PULUMI) preview --diff --stack $(STACK)

destroy: venv ## pulumi destroy for STACK (the data volume of a cloud stack is protected and kept).
	$(PULUMI) destroy --stack $(STACK)

SNAPSHOT ?= latest
RESTORE_SCRIPT := components/scripts/restore-stack.sh

restore: ## Restore STACK's data from its backups (SNAPSHOT=latest or an id): stops the services, restores, restarts them.
	@echo '$(SNAPSHOT)' | grep -Eqx 'latest|[0-9a-f]{8,64}' || { echo 'SNAPSHOT must be latest or a snapshot id' >&2; exit 2; }
ifeq ($(STACK),local)
	sh $(RESTORE_SCRIPT) $(SNAPSHOT)
else
	$$($(PULUMI) stack output --stack $(STACK) sshCommand) sh -s -- $(SNAPSHOT) < $(RESTORE_SCRIPT)
endif

# Each value goes through stdin, so no secret is ever on a command line.
recover: ## Make STACK a copy of the stack FROM in REGION that restores FROM's latest backup at its first `make up`.
	@test -n "$(FROM)" -a -n "$(REGION)" || { echo 'usage: make recover FROM=<old stack> STACK=<new stack> REGION=<region>' >&2; exit 2; }
	$(PULUMI) stack init $(STACK) --copy-config-from $(FROM)
	$(PULUMI) config set --stack $(STACK) p2pvps:region $(REGION)
	$(PULUMI) stack output --stack $(FROM) --show-secrets backupRepository | $(PULUMI) config set --stack $(STACK) p2pvps:restoreFrom
	$(PULUMI) stack output --stack $(FROM) --show-secrets backupPassword | $(PULUMI) config set --stack $(STACK) --secret p2pvps:restorePassword
	$(PULUMI) stack output --stack $(FROM) --show-secrets backupAccessKeyId | $(PULUMI) config set --stack $(STACK) --secret p2pvps:restoreAccessKeyId
	$(PULUMI) stack output --stack $(FROM) --show-secrets backupSecretAccessKey | $(PULUMI) config set --stack $(STACK) --secret p2pvps:restoreSecretAccessKey

clean:
	rm -rf $(VENV) .pytest_cache
