"""Vultr: what it accepts, certbot's DNS-01 hook for it, and the P2P VPS server on it (instance,
reserved IP, firewall group, block storage and DNS records)."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import ediri_vultr as vultr
import pulumi

from components import dns
from components.backup_storage.vultr import backup_storage
from components.clouds.base import VULTR_PLAN, Cloud, CloudProfile, DnsChallenge, certbot_image
from components.hosts.remote import host_key, remote_host, required_secret, user_data
from components.monitoring.vultr import monitoring
from components.ports import ANYWHERE, PortRange, PublicPort
from components.settings import ServerSettings, Settings

API_KEY = "VULTR_API_KEY"
PROFILE = CloudProfile(
    label="Vultr",
    region=re.compile(r"^[a-z]{3}$"),
    region_example="a Vultr region id such as ewr, ams or fra",
    size=re.compile(rf"^{VULTR_PLAN}$"),
    size_example="a Vultr plan id such as vc2-1c-2gb",
    default_size="vc2-1c-2gb",
    dns_token_for="a Vultr API key of a user with only the Manage DNS permission",
)
# No certbot plugin for Vultr works with certbot 2 or later: plain certbot with the stack's own hook.
DNS_CHALLENGE = DnsChallenge("vultr", certbot_image("certbot"), credentials=(API_KEY,))
# Vultr attaches block storage as the second virtio disk. (Its by-id name carries the volume's
# mount id, which only exists once the volume is attached to this very instance.)
DATA_DEVICE = "/dev/vdb"
# Instance inputs Vultr can only change by replacing the instance, read at first boot only.
FIRST_BOOT_INPUTS = ("user_data", "ssh_key_ids")


def vultr_port(ports: PortRange) -> str:
    """Vultr writes port ranges with a colon: `6101:6200`."""
    return str(ports.first) if ports.first == ports.last else f"{ports.first}:{ports.last}"


@dataclass(frozen=True)
class VultrRule:
    """One inbound rule in Vultr's terms: a protocol and port from one source network."""

    protocol: str
    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: str | None
    notes: str


def firewall_rules(perimeter: tuple[PublicPort, ...], admin_cidrs: tuple[str, ...]) -> list[VultrRule]:
    """One rule per port range and source network, plus ICMP from everywhere over both IP families."""
    rules = [
        VultrRule(rule.protocol, ipaddress.ip_network(source, strict=False), vultr_port(rule.ports), rule.purpose)
        for rule in perimeter
        for source in rule.sources(admin_cidrs)
    ]
    rules += [VultrRule("icmp", ipaddress.ip_network(source), None, "ICMP") for source in ANYWHERE]
    return rules


class VultrDns(pulumi.ComponentResource):
    """A and (with IPv6) AAAA records for the site and LocalTunnel names in Vultr DNS (zones existing or new)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        create_zone: bool,
        ipv4: pulumi.Input[str],
        ipv6: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:vultr:Dns", name, None, opts)

        def zone(slug: str, zone_name: str) -> pulumi.Input[str]:
            if not create_zone:
                return zone_name
            return vultr.DnsDomain(f"{name}-{slug}", domain=zone_name, opts=pulumi.ResourceOptions(parent=self)).domain

        self.records = [
            vultr.DnsRecord(
                f"{name}-{kind.lower()}-{dns.record_slug(record)}",
                domain=zone_name,
                name="" if record == "@" else record,
                type=kind,
                data=address,
                ttl=dns.TTL_SECONDS,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for _, zone_name, records in dns.zones(settings.domain, settings.tunnel_domain, zone)
            for kind, address in dns.address_records(ipv4, ipv6)
            for record in records
        ]
        self.register_outputs({})


class VultrHost(pulumi.ComponentResource):
    """A Vultr instance ready for the P2P VPS stack.

    Creates: one SSH key per admin public key; the pinned SSH host key; a reserved IP; a firewall
    group with one rule per port range and source; the instance (Ubuntu LTS, cloud-init); block
    storage attached to it (protected, retained); DNS records; and the readiness gate.
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:vultr:Host", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = settings.resource_prefix
        admin = server.admin

        ssh_keys = [
            vultr.SSHKey(f"{name}-admin-key-{index}", name=f"{prefix}-admin-{index}", ssh_key=key, opts=child)
            for index, key in enumerate(admin.ssh_public_keys)
        ]
        server_key = host_key(f"{name}-key", self)
        reserved_ip = vultr.ReservedIp(f"{name}-ip", region=server.region, ip_type="v4", label=prefix, opts=child)
        firewall = vultr.FirewallGroup(f"{name}-firewall", description=prefix, opts=child)
        rules = [
            vultr.FirewallRule(
                f"{name}-firewall-rule-{index}",
                firewall_group_id=firewall.id,
                protocol=rule.protocol,
                ip_type=f"v{rule.network.version}",
                subnet=str(rule.network.network_address),
                subnet_size=rule.network.prefixlen,
                port=rule.port,
                notes=rule.notes,
                opts=child,
            )
            for index, rule in enumerate(firewall_rules(perimeter, admin.cidrs))
        ]
        os_id = vultr.get_os_output(
            filters=[vultr.GetOsFilterArgs(name="name", values=[f"Ubuntu {server.ubuntu_version} LTS x64"])],
            opts=pulumi.InvokeOptions(parent=self),
        ).id.apply(int)
        instance = vultr.Instance(
            f"{name}-instance",
            region=server.region,
            plan=server.size,
            os_id=os_id,
            user_data=user_data(settings, server, server_key, DATA_DEVICE),
            hostname=prefix,
            label=prefix,
            tags=[settings.project, prefix],
            ssh_key_ids=[key.id for key in ssh_keys],
            firewall_group_id=firewall.id,
            reserved_ip_id=reserved_ip.id,
            enable_ipv6=server.ipv6,
            backups="disabled",
            activation_email=False,
            # Both only matter at first boot; later key changes reach the host configuration, in place.
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, ignore_changes=list(FIRST_BOOT_INPUTS)
            ),
        )
        storage = vultr.BlockStorage(
            f"{name}-data",
            region=server.region,
            size_gb=server.volume_size_gb,
            attached_to_instance=instance.id,
            live=True,
            label=f"{prefix}-data",
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        zone = VultrDns(
            f"{name}-dns",
            settings,
            create_zone=server.create_dns_zone,
            ipv4=reserved_ip.subnet,
            ipv6=instance.v6_main_ip if server.ipv6 else None,
            opts=child,
        )
        self.host = remote_host(
            name,
            self,
            server,
            host=server_key,
            address=reserved_ip.subnet,
            machine=instance,
            data_device=DATA_DEVICE,
            ready_after=[storage, *rules],
            dns=zone,
            dns_credentials={API_KEY: required_secret(settings.secret_settings.dns_token, "dnsToken")},
        )
        self.register_outputs({"address": reserved_ip.subnet, "instanceId": instance.id, "hostKey": server_key.public})


CLOUD = Cloud(PROFILE, DNS_CHALLENGE, VultrHost, backup_storage, monitoring)
