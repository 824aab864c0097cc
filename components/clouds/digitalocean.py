"""DigitalOcean: what it accepts, certbot's DNS-01 plugin for it, and the P2P VPS server on it
(droplet, reserved IP, data volume, Cloud Firewall and DNS records).

Just over 200 lines: the server component creates these in one order the droplet depends on (the
firewall and its tag before the droplet), read best in one place.
"""

from __future__ import annotations

import re

import pulumi
import pulumi_digitalocean as digitalocean

from components import dns
from components.backup_storage.digitalocean import backup_storage
from components.clouds.base import VULTR_PLAN, Cloud, CloudProfile, DnsChallenge, certbot_image
from components.hosts.remote import host_key, remote_host, required_secret, user_data
from components.monitoring.digitalocean import monitoring
from components.ports import ANYWHERE, PublicPort
from components.settings import ServerSettings, Settings

TOKEN = "DO_TOKEN"
PROFILE = CloudProfile(
    label="DigitalOcean",
    region=re.compile(r"^[a-z]{3}[0-9]$"),
    region_example="a DigitalOcean region slug such as nyc3, ams3 or fra1",
    size=re.compile(rf"^(?!{VULTR_PLAN}$)[a-z][a-z0-9_]*-[a-z0-9-]+$"),
    size_example="a DigitalOcean size slug such as s-1vcpu-2gb",
    default_size="s-1vcpu-2gb",
    dns_token_for="a DigitalOcean API token with domain read/write scope",
)
DNS_CHALLENGE = DnsChallenge("digitalocean", certbot_image("dns-digitalocean"), credentials=(TOKEN,))
ALL_PORTS = "1-65535"
# Droplet inputs DigitalOcean can only change by replacing the droplet, read at first boot only.
FIRST_BOOT_INPUTS = ("user_data", "ssh_keys")


def volume_device(volume_name: str) -> str:
    """Where DigitalOcean exposes an attached volume inside the droplet."""
    return f"/dev/disk/by-id/scsi-0DO_Volume_{volume_name}"


def inbound_rules(
    perimeter: tuple[PublicPort, ...], admin_cidrs: tuple[str, ...]
) -> list[digitalocean.FirewallInboundRuleArgs]:
    rules = [
        digitalocean.FirewallInboundRuleArgs(
            protocol=rule.protocol, port_range=str(rule.ports), source_addresses=list(rule.sources(admin_cidrs))
        )
        for rule in perimeter
    ]
    rules.append(digitalocean.FirewallInboundRuleArgs(protocol="icmp", source_addresses=list(ANYWHERE)))
    return rules


def outbound_rules() -> list[digitalocean.FirewallOutboundRuleArgs]:
    """Everything outbound: an empty list would block apt, image pulls and ACME."""
    return [
        digitalocean.FirewallOutboundRuleArgs(
            protocol="tcp", port_range=ALL_PORTS, destination_addresses=list(ANYWHERE)
        ),
        digitalocean.FirewallOutboundRuleArgs(
            protocol="udp", port_range=ALL_PORTS, destination_addresses=list(ANYWHERE)
        ),
        digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=list(ANYWHERE)),
    ]


class DigitalOceanDns(pulumi.ComponentResource):
    """A and (with IPv6) AAAA records for the site and LocalTunnel names, in existing or new zones."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        create_zone: bool,
        ipv4: pulumi.Input[str],
        ipv6: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:digitalocean:Dns", name, None, opts)

        def zone(slug: str, zone_name: str) -> pulumi.Input[str]:
            if not create_zone:
                return zone_name
            return digitalocean.Domain(f"{name}-{slug}", name=zone_name, opts=pulumi.ResourceOptions(parent=self)).name

        self.records = [
            digitalocean.DnsRecord(
                f"{name}-{kind.lower()}-{dns.record_slug(record)}",
                domain=zone_name,
                name=record,
                type=kind,
                value=address,
                ttl=dns.TTL_SECONDS,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for _, zone_name, records in dns.zones(settings.domain, settings.tunnel_domain, zone)
            for kind, address in dns.address_records(ipv4, ipv6)
            for record in records
        ]
        self.register_outputs({"fqdns": [record.fqdn for record in self.records]})


class DigitalOceanHost(pulumi.ComponentResource):
    """A droplet ready for the P2P VPS stack.

    Creates: one SSH key per admin public key; the pinned SSH host key; a tag and the Cloud Firewall
    (built from the port list) that applies to it; a protected data volume that outlives the
    droplet; the droplet (Ubuntu LTS, monitoring, cloud-init), born with the tag, after the
    firewall; the volume attachment; a reserved IP and its assignment; DNS records; and the
    readiness gate that everything talking to the droplet depends on.
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:digitalocean:Host", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = settings.resource_prefix
        admin = server.admin

        ssh_keys = [
            digitalocean.SshKey(f"{name}-admin-key-{index}", name=f"{prefix}-admin-{index}", public_key=key, opts=child)
            for index, key in enumerate(admin.ssh_public_keys)
        ]
        server_key = host_key(f"{name}-key", self)
        # The firewall selects droplets by this tag and exists before the droplet, which is created
        # with the tag: it is never reachable outside the firewall, not even while it boots.
        firewall_tag = digitalocean.Tag(f"{name}-firewall-tag", name=f"{prefix}-firewall", opts=child)
        firewall = digitalocean.Firewall(
            f"{name}-firewall",
            name=prefix,
            tags=[firewall_tag.name],
            inbound_rules=inbound_rules(perimeter, admin.cidrs),
            outbound_rules=outbound_rules(),
            opts=child,
        )

        volume_name = f"{prefix}-data"
        volume = digitalocean.Volume(
            f"{name}-data",
            name=volume_name,
            region=server.region,
            size=server.volume_size_gb,
            description=f"P2P VPS state of stack {settings.stack}: database, wallet, certificates, host keys, uploads",
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )

        data_device = volume_device(volume_name)
        droplet = digitalocean.Droplet(
            f"{name}-droplet",
            name=prefix,
            image=f"ubuntu-{server.ubuntu_version.replace('.', '-')}-x64",
            region=server.region,
            size=server.size,
            ssh_keys=[key.fingerprint for key in ssh_keys],
            user_data=user_data(settings, server, server_key, data_device),
            monitoring=True,
            ipv6=server.ipv6,
            graceful_shutdown=True,
            tags=[settings.project, prefix, firewall_tag.name],
            # Both only matter at first boot; later key changes reach the host configuration, in place.
            opts=pulumi.ResourceOptions(
                parent=self,
                delete_before_replace=True,
                depends_on=[firewall],
                ignore_changes=list(FIRST_BOOT_INPUTS),
            ),
        )
        droplet_id = droplet.id.apply(int)
        attachment = digitalocean.VolumeAttachment(
            f"{name}-data-attachment",
            droplet_id=droplet_id,
            volume_id=volume.id,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        reserved_ip = digitalocean.ReservedIp(f"{name}-ip", region=server.region, opts=child)
        assignment = digitalocean.ReservedIpAssignment(
            f"{name}-ip-assignment",
            droplet_id=droplet_id,
            ip_address=reserved_ip.ip_address,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )
        zone = DigitalOceanDns(
            f"{name}-dns",
            settings,
            create_zone=server.create_dns_zone,
            ipv4=reserved_ip.ip_address,
            ipv6=droplet.ipv6_address if server.ipv6 else None,
            opts=child,
        )
        self.host = remote_host(
            name,
            self,
            server,
            host=server_key,
            address=reserved_ip.ip_address,
            machine=droplet,
            data_device=data_device,
            ready_after=[assignment, attachment, firewall],
            dns=zone,
            dns_credentials={TOKEN: required_secret(settings.secret_settings.dns_token, "dnsToken")},
        )
        self.register_outputs(
            {
                "address": reserved_ip.ip_address,
                "dropletId": droplet.id,
                "volumeId": volume.id,
                "hostKey": server_key.public,
            }
        )


CLOUD = Cloud(PROFILE, DNS_CHALLENGE, DigitalOceanHost, backup_storage, monitoring)
