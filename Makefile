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

# Values reach the recipes' shell only as environment variables, checked before use: never pasted into a command.
restore recover: export P2PVPS_STACK := $(STACK)
restore: export P2PVPS_SNAPSHOT := $(SNAPSHOT)
recover: export P2PVPS_FROM := $(FROM)
recover: export P2PVPS_REGION := $(REGION)
NAME_CHECK = case "$$$(1)" in ""|*[!A-Za-z0-9._-]*) echo '$(2) must be letters, digits, dots, hyphens or underscores' >&2; exit 2;; esac

restore: ## Restore STACK's data from its backups (SNAPSHOT=latest or an id): stops the services, restores, restarts them.
	@case "$$P2PVPS_SNAPSHOT" in latest) ;; ""|*[!0-9a-f]*) echo 'SNAPSHOT must be latest or a snapshot id' >&2; exit 2;; esac
	@$(call NAME_CHECK,P2PVPS_STACK,STACK)
ifeq ($(STACK),local)
	sh $(RESTORE_SCRIPT) "$$P2PVPS_SNAPSHOT"
else
	$$($(PULUMI) stack output --stack "$$P2PVPS_STACK" sshCommand) sh -s -- "$$P2PVPS_SNAPSHOT" < $(RESTORE_SCRIPT)
endif

# Each value goes through stdin, so no secret is ever on a command line.
recover: ## Make STACK a copy of the stack FROM in REGION that restores FROM's latest backup at its first `make up`.
	@test -n "$$P2PVPS_FROM" -a -n "$$P2PVPS_REGION" || { echo 'usage: make recover FROM=<old stack> STACK=<new stack> REGION=<region>' >&2; exit 2; }
	@$(call NAME_CHECK,P2PVPS_FROM,FROM); $(call NAME_CHECK,P2PVPS_STACK,STACK); $(call NAME_CHECK,P2PVPS_REGION,REGION)
	$(PULUMI) stack init "$$P2PVPS_STACK" --copy-config-from "$$P2PVPS_FROM"
	$(PULUMI) config set --stack "$$P2PVPS_STACK" p2pvps:region "$$P2PVPS_REGION"
	$(PULUMI) stack output --stack "$$P2PVPS_FROM" --show-secrets backupRepository | $(PULUMI) config set --stack "$$P2PVPS_STACK" p2pvps:restoreFrom
	$(PULUMI) stack output --stack "$$P2PVPS_FROM" --show-secrets backupPassword | $(PULUMI) config set --stack "$$P2PVPS_STACK" --secret p2pvps:restorePassword
	$(PULUMI) stack output --stack "$$P2PVPS_FROM" --show-secrets backupAccessKeyId | $(PULUMI) config set --stack "$$P2PVPS_STACK" --secret p2pvps:restoreAccessKeyId
	$(PULUMI) stack output --stack "$$P2PVPS_FROM" --show-secrets backupSecretAccessKey | $(PULUMI) config set --stack "$$P2PVPS_STACK" --secret p2pvps:restoreSecretAccessKey

clean:
	rm -rf $(VENV) .pytest_cache
