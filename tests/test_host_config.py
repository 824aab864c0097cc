"""The host configuration: what may change after the first boot is applied over SSH as root after the
readiness gate, by a command whose script shows the change, never through the machine's user data."""

from __future__ import annotations

import pytest
import yaml

from components.host_config import fingerprint
from harness import (
    DROPLET_ID,
    INSTANCE_ID,
    Evaluation,
    cloud_stacks,
    evaluate,
    host_config,
    host_config_files,
    machine,
    stack_config,
)

pytestmark = pytest.mark.unit

# What the machine reads at first boot only and must never be replaced for, by provider.
FIRST_BOOT_INPUTS = {
    "digitalocean:index/droplet:Droplet": ["userData", "sshKeys"],
    "vultr:index/instance:Instance": ["userData", "sshKeyIds"],
    "aws:ec2/instance:Instance": ["ami", "userData"],
}
MOVED = (
    "/etc/ssh/sshd_config.d/10-p2pvps.conf",
    "/etc/docker/daemon.json",
    "/etc/apt/apt.conf.d/20auto-upgrades",
    "/etc/apt/apt.conf.d/52p2pvps-unattended-upgrades",
    "/usr/local/sbin/p2pvps-metadata-guard",
    "/etc/systemd/system/docker.service.d/20-p2pvps-metadata-guard.conf",
)


@pytest.fixture(scope="module", params=cloud_stacks())
def server(request: pytest.FixtureRequest) -> Evaluation:
    return evaluate(request.param)


def test_the_machine_ignores_later_changes_of_its_first_boot_inputs(server: Evaluation) -> None:
    found = machine(server)
    assert found.ignore_changes == FIRST_BOOT_INPUTS[found.type]


def test_the_configuration_runs_as_root_after_the_gate_and_again_on_a_new_machine(server: Evaluation) -> None:
    command = server.named("p2pvps-host-config")
    assert command.plain("create") == "sudo -n sh -s"
    assert server.named("p2pvps-host-ready").urn in command.dependencies
    triggers = command.plain("triggers")
    assert triggers[0] in (DROPLET_ID, INSTANCE_ID, "p2pvps-host-instance-id")
    assert triggers[1] == fingerprint(host_config(server))


def test_the_changeable_files_left_the_user_data_for_the_configuration(server: Evaluation) -> None:
    written = {item["path"] for item in yaml.safe_load(machine(server).plain("userData"))["write_files"]}
    assert not written & set(MOVED)
    assert set(MOVED) <= set(host_config_files(server))


def test_the_admin_keys_are_exactly_the_setting() -> None:
    keys = stack_config("dev")["p2pvps:sshPublicKeys"]
    files = host_config_files(evaluate("dev"))
    assert files["/home/p2pvps/.ssh/authorized_keys"] == "".join(f"{key}\n" for key in keys)


def test_a_reboot_window_change_is_a_readable_diff_of_the_script() -> None:
    before = host_config(evaluate("dev"))
    after = host_config(evaluate("dev", overrides={"rebootWindow": "04:15"}))
    changed = set(after.splitlines()) - set(before.splitlines())
    assert changed == {'Unattended-Upgrade::Automatic-Reboot-Time "04:15";'}


def test_the_data_volume_is_grown_to_the_setting_on_the_device_cloud_init_mounts() -> None:
    evaluation = evaluate("dev", overrides={"volumeSizeGb": 40})
    runcmd = yaml.safe_load(machine(evaluation).plain("userData"))["runcmd"]
    mounted = next(command for command in runcmd if isinstance(command, list) and "mount-data" in command[0])
    assert f"\ngrow_data {mounted[1]} /srv/p2pvps 40\n" in host_config(evaluation)
