"""Unattended upgrades on the server: Docker's own repository among the origins it installs from, and a
nightly reboot window for the updates that need one (a kernel, libc).

The apt configuration the user data writes is read by the real tools, in a sandbox that holds only
it and the distribution's 50unattended-upgrades: `apt-config dump` (apt's own parser), and the origin
matcher of unattended-upgrades itself (Debian 12's /usr/bin/unattended-upgrade, loaded as a module
under the system Python). Not verified here: a real `unattended-upgrade --dry-run` against
download.docker.com, which needs the network, and Ubuntu's own 50unattended-upgrades (Debian's
stands in for it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from components.host_files import UNATTENDED_UPGRADES_PATH
from harness import evaluate, host_config_files
from tools import require, run

pytestmark = pytest.mark.tools

DISTRIBUTION_FILE = Path("/etc/apt/apt.conf.d/50unattended-upgrades")
UNATTENDED_UPGRADE = Path("/usr/bin/unattended-upgrade")
# What apt-cache policy shows for the repository the user data adds (download.docker.com/linux/ubuntu noble stable).
DOCKER = {
    "origin": "Docker",
    "label": "Docker CE",
    "archive": "noble",
    "codename": "noble",
    "component": "stable",
    "site": "download.docker.com",
}
DEBIAN_SECURITY = {
    "origin": "Debian",
    "label": "Debian-Security",
    "archive": "stable-security",
    "codename": "noble-security",
    "component": "main",
    "site": "deb.debian.org",
}
ELSEWHERE = DOCKER | {"origin": "Someone", "label": "Someone's packages", "site": "apt.example.com"}
MATCHER = """
import importlib.machinery, json, sys, types
import apt_pkg

apt_pkg.init_config()
loader = importlib.machinery.SourceFileLoader("unattended_upgrade", sys.argv[1])
module = types.ModuleType(loader.name)
loader.exec_module(module)
module.DISTRO_CODENAME, module.DISTRO_ID = "noble", "Ubuntu"
allowed = module.get_allowed_origins()
origins = json.loads(sys.argv[2])
print(json.dumps([module.is_allowed_origin(types.SimpleNamespace(**o), allowed) for o in origins]))
"""


def rendered(**overrides: Any) -> str:
    return host_config_files(evaluate("dev", overrides=overrides))[UNATTENDED_UPGRADES_PATH]


def apt_sandbox(directory: Path, ours: str | None) -> dict[str, str]:
    """An environment in which apt reads only the distribution's 50unattended-upgrades and (if given) ours."""
    assert DISTRIBUTION_FILE.exists(), f"{DISTRIBUTION_FILE} is missing; install unattended-upgrades (make tools)"
    parts = directory / "apt.conf.d"
    parts.mkdir()
    (parts / DISTRIBUTION_FILE.name).write_text(DISTRIBUTION_FILE.read_text())
    if ours is not None:
        (parts / Path(UNATTENDED_UPGRADES_PATH).name).write_text(ours)
    config = directory / "apt.conf"
    config.write_text(f'Dir::Etc::main "/dev/null";\nDir::Etc::parts "{parts}";\n')
    return os.environ | {"APT_CONFIG": str(config)}


def allowed(directory: Path, ours: str | None, *origins: dict[str, str]) -> list[bool]:
    """Which origins unattended-upgrades would install from, by its own matcher."""
    assert UNATTENDED_UPGRADE.exists(), f"{UNATTENDED_UPGRADE} is missing; install unattended-upgrades (make tools)"
    result = run(
        ["/usr/bin/python3", "-c", MATCHER, str(UNATTENDED_UPGRADE), json.dumps(origins)],
        env=apt_sandbox(directory, ours),
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def apt_config_dump(directory: Path, ours: str) -> list[str]:
    result = run([require("apt-config"), "dump"], env=apt_sandbox(directory, ours))
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_apt_reads_the_reboot_window_and_adds_docker_to_the_distributions_origins(tmp_path: Path) -> None:
    dump = apt_config_dump(tmp_path, rendered())
    assert 'Unattended-Upgrade::Automatic-Reboot "true";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot-Time "03:30";' in dump
    assert 'Unattended-Upgrade::Automatic-Reboot-WithUsers "true";' in dump
    patterns = [line for line in dump if line.startswith("Unattended-Upgrade::Origins-Pattern:: ")]
    assert 'Unattended-Upgrade::Origins-Pattern:: "origin=Docker,label=Docker CE";' in patterns
    assert len(patterns) > 1, "the distribution's own origins must stay"


def test_apt_config_refuses_a_broken_fragment(tmp_path: Path) -> None:
    """Control: apt's parser fails on the same fragment with a semicolon missing."""
    broken = rendered().replace('"03:30";', '"03:30"')
    result = run([require("apt-config"), "dump"], env=apt_sandbox(tmp_path, broken))
    assert result.returncode != 0


def test_unattended_upgrades_installs_from_docker_and_still_from_the_distribution(tmp_path: Path) -> None:
    assert allowed(tmp_path, rendered(), DOCKER, DEBIAN_SECURITY, ELSEWHERE) == [True, True, False]


def test_without_the_fragment_docker_is_never_upgraded(tmp_path: Path) -> None:
    """Control: the distribution's configuration alone leaves download.docker.com out."""
    assert allowed(tmp_path, None, DOCKER, DEBIAN_SECURITY) == [False, True]


@pytest.mark.parametrize(("window", "expected"), [("23:05", "23:05"), ("off", None)])
def test_the_reboot_window_follows_the_setting(window: str, expected: str | None) -> None:
    lines = rendered(rebootWindow=window).splitlines()
    assert ('Unattended-Upgrade::Automatic-Reboot "true";' in lines) is (expected is not None)
    reboot_times = [line for line in lines if line.startswith("Unattended-Upgrade::Automatic-Reboot-Time ")]
    assert reboot_times == ([f'Unattended-Upgrade::Automatic-Reboot-Time "{expected}";'] if expected else [])
