"""Real tools the tests hand artefacts to. A missing tool fails the test: it is never a skip."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

INSTALL_HINT = "install the test tools with `make tools` (what .ci/run does)"
# Set by tests/conftest.py while a test of the `unit` tier runs.
refusing_tools = False


def require(tool: str) -> str:
    """Path of `tool` (on PATH, in this virtualenv, or in sbin), or fail the test saying how to install it."""
    if refusing_tools:
        pytest.fail(f"a `unit` test uses {tool}; mark its module `tools` or `e2e` (tests/conftest.py)")
    places = (Path(sys.executable).parent / tool, Path("/usr/sbin") / tool, Path("/sbin") / tool)
    found = shutil.which(tool) or next((str(p) for p in places if p.exists()), None)
    if found is None:
        pytest.fail(f"{tool} is not installed; {INSTALL_HINT}")
    return found


def run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a tool, capturing text output; the caller checks the exit code."""
    return subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]


def shellcheck(script: str, shell: str = "sh") -> subprocess.CompletedProcess[str]:
    """shellcheck a script given as text (a snippet without a shebang is checked as `shell`)."""
    return run([require("shellcheck"), "-s", shell, "-f", "gcc", "-"], input=script)
