"""What the tests of the application images share: their directories, Node with a clean environment, and
the checks each image directory gets (Dockerfile policy, strict shell scripts, patch specs, lockfiles,
TCP health checks).

No registry is reachable, so these images are not built here: the scripts and Node modules that end up in
them run against temporary directories, fake upstream binaries and loopback servers (hadolint and
shellcheck run over every Dockerfile and script in test_artefact_lint, the COPY instructions against the
real builder in test_build_context_e2e).
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import time
from pathlib import Path

from components.build_context import instructions
from components.catalog import COMPOSE_DIR
from tools import require, run

CMS = COMPOSE_DIR / "connextcms"
LISTING_MANAGER = COMPOSE_DIR / "listing-manager"
OPENBAZAAR = COMPOSE_DIR / "openbazaar"
SHARED = COMPOSE_DIR / "shared"

Outcome = subprocess.CompletedProcess[str]


def node(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Outcome:
    return run([require("node"), *args], env=env, cwd=cwd)


def base_env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}


def cms_env(**overrides: str) -> dict[str, str]:
    """The environment the stack gives the ConnextCMS container, with `overrides`."""
    env = base_env() | {
        "PORT": "3000",
        "MONGO_HOST": "mongodb",
        "MONGO_PORT": "27017",
        "MONGO_DB": "connextcms",
        "MONGO_USER": "connextcms",
        "MONGO_PASSWORD": "pa ss@w:o/rd%?#&",
        "COOKIE_SECRET": "c" * 64,
        "CMS_SERVICE_TOKEN": "t" * 32,
        "OB_URL": "http://openbazaar:4002",
        "OB_USERNAME": "p2pvps",
        "OB_PASSWORD": "ob-secret",
        "SITE_DOMAIN": "p2pvps.example.org",
    }
    env.update(overrides)
    return env


def lm_env(**overrides: str) -> dict[str, str]:
    """The environment the stack gives the Listing-Manager container, with `overrides`."""
    env = base_env() | {
        "SERVER_URL": "http://connextcms:3000",
        "OB_URL": "http://openbazaar:4002",
        "OB_USERNAME": "p2pvps",
        "OB_PASSWORD": "ob-secret",
        "P2PVPS_HOST": "p2pvps.example.org",
        "CMS_SERVICE_TOKEN": "t" * 32,
    }
    env.update(overrides)
    return env


def dockerfile_stages(image_dir: Path) -> list[list[tuple[str, str]]]:
    """The instructions of `image_dir`'s Dockerfile, grouped by build stage."""
    stages: list[list[tuple[str, str]]] = []
    for keyword, arguments in instructions(image_dir / "Dockerfile"):
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, arguments))
    return stages


def assert_dockerfile_policy(image_dir: Path) -> None:
    """Bases pinned to a version tag, apt without recommends or lists, uid 1000, the catalog's health check."""
    dockerfile = image_dir / "Dockerfile"
    stages = dockerfile_stages(image_dir)
    assert stages, "no FROM"
    args = {m.group(1): m.group(2) for m in re.finditer(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.MULTILINE)}
    for stage in stages:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], stage[0][1].split()[0])
        _name, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{image}: base must be pinned to a version tag"
        for keyword, arguments in stage:
            if keyword == "RUN" and "apt-get install" in arguments:
                assert "--no-install-recommends" in arguments
                assert "rm -rf /var/lib/apt/lists/*" in arguments
    final = stages[-1]
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users and users[-1] in {"1000:1000", "1000"}, "final stage must run as uid 1000"
    healthchecks = [arguments for keyword, arguments in final if keyword == "HEALTHCHECK"]
    assert healthchecks == ['CMD ["/usr/local/bin/p2pvps-healthcheck"]'], "timings belong to the catalog"


def assert_pins_documented_commits(image_dir: Path) -> None:
    """Every `ARG *_COMMIT` is a full SHA-1 its README names, and no moving branch is cloned."""
    text = (image_dir / "Dockerfile").read_text()
    readme = (image_dir / "README.md").read_text()
    commits = re.findall(r"^ARG \w+_COMMIT=([0-9a-f]+)$", text, re.MULTILINE)
    assert commits, f"{image_dir.name}: no pinned commit"
    for commit in commits:
        assert len(commit) == 40, f"{commit} is not a full SHA-1"
        assert commit in readme, f"{image_dir.name}/README.md does not name {commit}"
    runs = " ".join(arguments for stage in dockerfile_stages(image_dir) for _keyword, arguments in stage)
    assert "git clone" not in runs and "master" not in runs, "never a moving branch"


def shell_scripts(directory: Path) -> list[Path]:
    scripts = sorted(directory.glob("*.sh"))
    assert scripts, f"no shell script in {directory}"
    return scripts


def assert_strict_executable_shell(script: Path) -> None:
    """(shellcheck runs on every script of the repository in test_artefact_lint.)"""
    text = script.read_text()
    assert text.splitlines()[0] in {"#!/bin/sh", "#!/bin/bash"}
    assert "set -eu" in text
    assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"


def patch_finds(spec: Path) -> str:
    """Every anchor of a patch spec (apply-patches.js's input), joined."""
    return " ".join(entry["find"] for entry in json.loads(spec.read_text()))


def assert_patches_require_by_correct_paths(spec: Path, layout: dict[str, str], module: str, minimum: int) -> None:
    """Each `require()` of one of our p2pvps-* modules a patch adds resolves to `module` (for the others: its
    sibling) from where the patched file lands in the application; `layout` maps upstream prefixes there."""
    checked = 0
    for entry in json.loads(spec.read_text()):
        assert set(entry) == {"file", "find", "replace", "count", "why"} and entry["why"]
        for rel, name in re.findall(r"require\(['\"]([^'\"]*(p2pvps-[a-z]+)[^'\"]*)['\"]\)", entry["replace"]):
            app_file = entry["file"]
            for prefix, target in layout.items():
                if app_file.startswith(prefix):
                    app_file = target + app_file[len(prefix) :]
                    break
            resolved = os.path.normpath(os.path.join(os.path.dirname(app_file), rel))
            assert resolved == module.replace("p2pvps-config", name), f"{entry['file']}: {rel} resolves to {resolved}"
            checked += 1
    assert checked >= minimum


def assert_lockfile_matches_package_json(directory: Path, version: int) -> None:
    """Exact pins, the lockfile in step with package.json, every package from the npm registry with its hash."""
    package = json.loads((directory / "package.json").read_text())
    lock = json.loads((directory / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == version
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    for name, spec in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name} must be pinned exactly"
        assert lock["packages"][f"node_modules/{name}"]["version"] == spec
    for key, entry in lock["packages"].items():
        if key:
            # npm here records no download address; npm then uses the configured registry.
            assert entry.get("resolved", "https://registry.npmjs.org/").startswith("https://registry.npmjs.org/"), key
            assert entry.get("integrity", "").startswith("sha512-"), key
    if version == 2:  # npm 6 (Node 8) reads only the legacy "dependencies" tree
        assert set(lock["dependencies"]) >= set(package["dependencies"])


def tcp_health_check(
    command: list[str],
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str], float]:
    """`command` (a health check of the port in P2PVPS_HEALTHCHECK_PORT) run while the port listens, then once
    it is closed; and how long the second run took."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        env = base_env() | {"P2PVPS_HEALTHCHECK_PORT": str(listener.getsockname()[1])}
        up = run(command, env=env)
    start = time.monotonic()
    down = run(command, env=env)
    return up, down, time.monotonic() - start
