"""The #cloud-config user data the droplet boots with, read back and checked by cloud-init itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.cloud_init import DOCKER_PACKAGES, KNOWN_TOP_LEVEL_KEYS, MOUNT_SCRIPT_PATH, mount_script
from components.host_config import SSHD_DROP_IN_PATH
from harness import HOST_PUBLIC_KEY, Evaluation, cloud_stacks, evaluate, host_config_files, machine, stack_config
from tools import require, run, shellcheck

pytestmark = pytest.mark.tools


def user_data(evaluation: Evaluation) -> str:
    """The cloud-init document of the stack's server, whatever the cloud."""
    return machine(evaluation).plain("userData")


@pytest.fixture(scope="module")
def dev_text() -> str:
    return user_data(evaluate("dev"))


@pytest.fixture(scope="module")
def dev_doc(dev_text: str) -> dict[str, Any]:
    return yaml.safe_load(dev_text)


def file_content(doc: dict[str, Any], path: str) -> str:
    return next(f["content"] for f in doc["write_files"] if f["path"] == path)


def dev_host_files() -> dict[str, str]:
    """The files the dev stack's host configuration writes after the first boot."""
    return host_config_files(evaluate("dev"))


def test_document_starts_with_the_cloud_config_header(dev_text: str) -> None:
    assert dev_text.startswith("#cloud-config\n")


def test_only_known_top_level_keys(dev_doc: dict[str, Any]) -> None:
    """cloud-init silently ignores a misspelt top-level key, so the keys are checked here."""
    assert set(dev_doc) <= KNOWN_TOP_LEVEL_KEYS


def test_admin_user_has_the_keys_passwordless_sudo_and_docker(dev_doc: dict[str, Any]) -> None:
    (user,) = dev_doc["users"]
    assert user["name"] == "p2pvps"
    assert user["ssh_authorized_keys"] == stack_config("dev")["p2pvps:sshPublicKeys"]
    assert user["sudo"] == "ALL=(ALL) NOPASSWD:ALL"
    assert user["lock_passwd"] is True
    assert "docker" in user["groups"]
    assert "docker" in dev_doc["groups"]


def test_root_login_and_passwords_are_off(dev_doc: dict[str, Any]) -> None:
    assert dev_doc["disable_root"] is True
    assert dev_doc["ssh_pwauth"] is False
    hardening = dev_host_files()[SSHD_DROP_IN_PATH]
    for line in (
        "PermitRootLogin no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "AllowUsers p2pvps",
    ):
        assert line in hardening.splitlines()


def test_host_key_is_the_pinned_one(dev_doc: dict[str, Any]) -> None:
    assert dev_doc["ssh_keys"]["ed25519_public"] == HOST_PUBLIC_KEY
    assert dev_doc["ssh_keys"]["ed25519_private"].endswith("host-private-key")
    assert dev_doc["ssh_deletekeys"] is True
    assert dev_doc["ssh_genkeytypes"] == ["ed25519"], "only the pinned type, which exists, so nothing is generated"


def test_docker_comes_from_dockers_own_repository(dev_doc: dict[str, Any]) -> None:
    source = dev_doc["apt"]["sources"]["docker.list"]
    assert source["source"].startswith(
        "deb [signed-by=$KEY_FILE] https://download.docker.com/linux/ubuntu $RELEASE stable"
    )
    assert source["keyid"] == "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
    assert set(DOCKER_PACKAGES) <= set(dev_doc["packages"])


def test_security_upgrades_run_unattended(dev_doc: dict[str, Any]) -> None:
    assert "unattended-upgrades" in dev_doc["packages"]
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dev_host_files()["/etc/apt/apt.conf.d/20auto-upgrades"]


def test_swap_is_configured_for_small_droplets(dev_doc: dict[str, Any]) -> None:
    assert dev_doc["swap"]["filename"] == "/swapfile"
    assert dev_doc["swap"]["size"] == 2 * 1024**3


def test_data_volume_is_mounted_by_its_digitalocean_device_path(dev_doc: dict[str, Any]) -> None:
    assert [MOUNT_SCRIPT_PATH, "/dev/disk/by-id/scsi-0DO_Volume_p2pvps-dev-data", "/srv/p2pvps"] in dev_doc["runcmd"]
    assert file_content(dev_doc, MOUNT_SCRIPT_PATH) == mount_script()
    assert "RequiresMountsFor=/srv/p2pvps" in file_content(
        dev_doc, "/etc/systemd/system/docker.service.d/10-p2pvps-data.conf"
    )


def test_the_admin_owns_the_log_tree_in_their_home(dev_doc: dict[str, Any]) -> None:
    install = next(cmd for cmd in dev_doc["runcmd"] if cmd[0] == "install")
    assert install == [
        *("install", "-d", "-m", "0755", "-o", "p2pvps", "-g", "p2pvps"),
        *("/home/p2pvps/.p2pvps", "/home/p2pvps/.p2pvps/logs"),
    ]


@pytest.mark.parametrize("stack", cloud_stacks())
def test_cloud_init_accepts_the_user_data_of_every_stack(stack: str, tmp_path: Path) -> None:
    document = tmp_path / "user-data.yaml"
    document.write_text(user_data(evaluate(stack)))
    result = run([require("cloud-init"), "schema", "--config-file", str(document)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_cloud_init_schema_check_can_fail(dev_text: str, tmp_path: Path) -> None:
    """Control: the same validator rejects the document once a key has the wrong type."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(dev_text.replace("package_update: true", "package_update: 'yes please'"))
    result = run([require("cloud-init"), "schema", "--config-file", str(broken)])
    assert result.returncode != 0


def test_sshd_accepts_the_hardening_drop_in(tmp_path: Path) -> None:
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "host")], check=True)
    (tmp_path / "10-p2pvps.conf").write_text(dev_host_files()[SSHD_DROP_IN_PATH])
    (tmp_path / "sshd_config").write_text(f"HostKey {tmp_path}/host\nInclude {tmp_path}/10-p2pvps.conf\n")
    result = run([require("sshd"), "-t", "-f", str(tmp_path / "sshd_config")])
    assert result.returncode == 0, result.stderr


def test_shell_the_host_runs_passes_shellcheck() -> None:
    gate = evaluate("dev").named("p2pvps-host-ready").plain("create")
    for script in (mount_script(), gate):
        result = shellcheck(script)
        assert result.returncode == 0, result.stdout


def test_readiness_gate_sets_its_data_dir_before_use() -> None:
    gate = evaluate("dev").named("p2pvps-host-ready").plain("create")
    assert re.match(r"^data_dir=/srv/p2pvps\n", gate)
