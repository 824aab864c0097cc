"""The server part of the settings, for a stack on a cloud: region, size, release, admin access, volume."""

from __future__ import annotations

from components.clouds import cloud
from components.clouds.base import UBUNTU_RELEASES
from components.settings.model import NAMESPACE, AdminAccess, SecretSettings, ServerSettings
from components.settings.reader import Reader
from components.settings.validators import (
    REBOOT_OFF,
    cidrs_error,
    one_of,
    reboot_window_error,
    shape_error,
    size_error,
    ssh_keys_error,
    username_error,
)


def server_settings(read: Reader, cloud_name: str, secret_settings: SecretSettings) -> ServerSettings | None:
    """The server part, for a stack on a cloud; None when a value is bad (the problem is recorded)."""
    profile = cloud(cloud_name).profile
    region_error = shape_error(profile.region, profile.region_example, cloud_name)
    region = read.check("region", read.text("region"), region_error)
    size = read.text("size", required=False) or profile.default_size
    size = read.check("size", size, size_error(profile, cloud_name))
    versions = one_of(tuple(UBUNTU_RELEASES), "a supported Ubuntu LTS release")
    ubuntu_version = read.check("ubuntuVersion", read.text("ubuntuVersion"), versions)
    admin_user = read.check("adminUser", read.text("adminUser"), username_error)
    admin_cidrs = read.check("adminCidrs", read.text_list("adminCidrs"), cidrs_error)
    ssh_keys = read.check("sshPublicKeys", read.text_list("sshPublicKeys"), ssh_keys_error)
    volume_size_gb = read.integer("volumeSizeGb", 1, 16384)
    ipv6 = read.boolean("ipv6")
    if ipv6 and not profile.supports_ipv6:
        read.problems.add("ipv6", f"true is not supported on {cloud_name} yet; set it to false")
    create_dns_zone = read.boolean("createDnsZone")
    reboot_window = read.check("rebootWindow", read.text("rebootWindow"), reboot_window_error)
    if profile.dns_token_for and secret_settings.dns_token is None:
        read.problems.add(
            "dnsToken",
            f"missing; certbot needs {profile.dns_token_for} for the *.lt wildcard certificate (DNS-01): "
            f"`pulumi config set --secret {NAMESPACE}:dnsToken <token>`",
        )
    if not (region and size and ubuntu_version and admin_user and admin_cidrs and ssh_keys and reboot_window):
        return None
    if volume_size_gb is None or ipv6 is None or create_dns_zone is None:
        return None
    return ServerSettings(
        cloud=cloud_name,
        region=region,
        size=size,
        ubuntu_version=ubuntu_version,
        admin=AdminAccess(user=admin_user, cidrs=admin_cidrs, ssh_public_keys=ssh_keys),
        volume_size_gb=volume_size_gb,
        ipv6=ipv6,
        create_dns_zone=create_dns_zone,
        reboot_time=None if reboot_window == REBOOT_OFF else reboot_window,
    )
