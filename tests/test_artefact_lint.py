"""Every artefact checked by the tool that consumes or judges it: hadolint for every Dockerfile,
shellcheck for every shell script in the repository and every shell snippet the program renders
(taken from the program's own registrations, not copied), pyright and ruff for the Python."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import MACHINES, PROJECT_DIR, Evaluation, evaluate, stack_names
from tools import require, run, shellcheck

pytestmark = pytest.mark.tools

SHELLS = ("sh", "bash", "dash")


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    return [PROJECT_DIR / name for name in listed.stdout.split("\0") if name]


def shell_of(path: Path) -> str | None:
    """The shell a file is written for: its shellcheck directive, shebang or `.sh` name; None otherwise."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    directive = re.search(r"shellcheck shell=(\w+)", text)
    if directive:
        return directive.group(1)
    first = text.split("\n", 1)[0]
    if first.startswith("#!"):
        interpreter = Path(first[2:].split()[-1] if "env" in first else first[2:].split()[0]).name
        return interpreter if interpreter in SHELLS else None
    return "sh" if path.suffix == ".sh" else None


SHELL_SCRIPTS = sorted(path for path in tracked_files() if path.is_file() and shell_of(path))
DOCKERFILES = sorted(path for path in tracked_files() if path.name == "Dockerfile")


def test_the_repository_has_the_scripts_we_expect() -> None:
    """Guards the discovery itself: a broken shebang check would silently lint nothing."""
    names = {path.relative_to(PROJECT_DIR).as_posix() for path in SHELL_SCRIPTS}
    assert {
        ".ci/run",
        ".ci/install-tools",
        "components/scripts/mount-data.sh",
        "compose/nginx/p2pvps-tls",
        "compose/backup/p2pvps-backup",
    } <= names
    assert len(DOCKERFILES) >= 6


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.relative_to(PROJECT_DIR).as_posix())
def test_shell_script_passes_shellcheck(script: Path) -> None:
    # -x from the script's directory: a `# shellcheck source=lib.sh` next to it is followed and checked too.
    checker = [require("shellcheck"), "-x", "-f", "gcc", "-s", shell_of(script) or "sh", script.name]
    result = run(checker, cwd=script.parent)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_passes_hadolint(dockerfile: Path) -> None:
    result = run([require("hadolint"), "--no-color", str(dockerfile)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_ignored_hadolint_rule_is_explained(dockerfile: Path) -> None:
    lines = dockerfile.read_text().splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            above = lines[number - 1].strip() if number else ""
            explained = above.startswith("#") and "hadolint" not in above
            assert explained, f"{dockerfile}:{number + 1}: say in a comment above why the rule is ignored"


def rendered_snippets(evaluation: Evaluation) -> dict[str, tuple[str, str]]:
    """Every piece of shell the program hands to a host: commands, cloud-init runcmd, uploaded scripts."""
    snippets: dict[str, tuple[str, str]] = {}
    for registration in evaluation.resources:
        if registration.type in ("command:remote:Command", "command:local:Command"):
            snippets[f"{registration.name}.create"] = ("sh", registration.plain("create"))
            if registration.plain().get("stdin"):
                snippets[f"{registration.name}.stdin"] = ("sh", registration.plain("stdin"))
        user_data = registration.plain().get("userData") if registration.type in MACHINES else None
        if user_data:
            document = yaml.safe_load(user_data)
            runcmd = "\n".join(shlex.join(cmd) if isinstance(cmd, list) else cmd for cmd in document["runcmd"])
            snippets[f"{registration.name}.runcmd"] = ("sh", runcmd)
            for item in document["write_files"]:
                if item["content"].startswith("#!/bin/sh"):
                    snippets[f"{registration.name}:{item['path']}"] = ("sh", item["content"])
        if registration.type == "docker:index/container:Container":
            for upload in registration.plain().get("uploads", []):
                if upload["file"].endswith(".sh"):
                    directive = re.search(r"shellcheck shell=(\w+)", upload["content"])
                    shell = directive.group(1) if directive else "sh"
                    snippets[f"{registration.name}:{upload['file']}"] = (shell, upload["content"])
    return snippets


@pytest.mark.parametrize("stack", stack_names())
def test_rendered_shell_passes_shellcheck(stack: str) -> None:
    snippets = rendered_snippets(evaluate(stack))
    assert any(name.endswith(".create") for name in snippets), "no command found: the extraction is broken"
    for name, (shell, text) in snippets.items():
        result = shellcheck(text, shell)
        assert result.returncode == 0, f"{name}:\n{result.stdout}"


def test_shellcheck_finds_a_quoting_bug() -> None:
    """Control: the same check fails on an unquoted variable."""
    assert shellcheck("data_dir=$1\nrm -rf $data_dir/x\n").returncode != 0


def test_pyright_reports_no_errors() -> None:
    result = run([require("pyright"), "--project", str(PROJECT_DIR / "pyproject.toml")], cwd=PROJECT_DIR)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "0 errors" in result.stdout


def test_ruff_lint_and_format_are_clean() -> None:
    ruff = require("ruff")
    check = run([ruff, "check", "--no-fix", str(PROJECT_DIR)], cwd=PROJECT_DIR)
    assert check.returncode == 0, check.stdout
    formatted = run([ruff, "format", "--check", str(PROJECT_DIR)], cwd=PROJECT_DIR)
    assert formatted.returncode == 0, formatted.stdout


def test_pyright_catches_an_output_used_as_a_string(tmp_path: Path) -> None:
    """Control: the gate catches the mistake class mypy misses (a resource output typed as a plain str)."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import pulumi_digitalocean as digitalocean\n"
        "ip: str = digitalocean.ReservedIp('ip', region='nyc3').ip_address\n"
    )
    result = run([require("pyright"), "--pythonpath", sys.executable, str(bad)], cwd=PROJECT_DIR)
    assert result.returncode != 0
    assert 'is not assignable to declared type "str"' in result.stdout
