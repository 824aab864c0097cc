"""AWS: what it accepts, certbot's Route 53 plugin, and the P2P VPS server on it (EC2 instance,
Elastic IP, security group, encrypted EBS volume, Route 53 records, certbot's IAM user)."""

from __future__ import annotations

import json
import re

import pulumi
import pulumi_aws as aws

from components import dns
from components.backup_storage.aws import backup_storage
from components.clouds.aws_provider import stack_provider
from components.clouds.base import UBUNTU_RELEASES, Cloud, CloudProfile, DnsChallenge, certbot_image
from components.hosts.remote import host_key, remote_host, user_data
from components.monitoring.aws import monitoring
from components.ports import PublicPort, split_by_family
from components.settings import ServerSettings, Settings

ACCESS_KEY_ID = "AWS_ACCESS_KEY_ID"
SECRET_ACCESS_KEY = "AWS_SECRET_ACCESS_KEY"
PROFILE = CloudProfile(
    label="AWS",
    region=re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"),
    region_example="an AWS region such as us-east-1 or eu-central-1",
    size=re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"),
    size_example="an EC2 instance type such as t3.small or t4g.small",
    default_size="t3.small",
    dns_token_for=None,
    supports_ipv6=False,
    refused_size=re.compile(r"^(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|d2|g2|g3|p2|x1|x1e|h1|f1)\."),
    refused_size_reason=(
        "a Xen-generation instance type; choose a Nitro type such as t3.small (its volumes appear as NVMe)"
    ),
)
# certbot's key is made here (an IAM user allowed only the challenge record), not configured.
DNS_CHALLENGE = DnsChallenge("route53", certbot_image("dns-route53"), credentials=(ACCESS_KEY_ID, SECRET_ACCESS_KEY))
CANONICAL_OWNER = "099720109477"
UBUNTU_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
DATA_DEVICE_NAME = "/dev/sdf"
ROOT_VOLUME_GB = 20
ICMP = {"ipv4": "icmp", "ipv6": "58"}


def ami_name_pattern(ubuntu_version: str, architecture: str) -> str:
    """Canonical's name for its Ubuntu server AMIs on gp3 root volumes."""
    codename = UBUNTU_RELEASES[ubuntu_version]
    return f"ubuntu/images/hvm-ssd-gp3/ubuntu-{codename}-{ubuntu_version}-{UBUNTU_ARCHITECTURES[architecture]}-server-*"


def ebs_device(volume_id: str) -> str:
    """Where a Nitro instance exposes an attached EBS volume: by its id, without the dash."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def ingress_rules(
    perimeter: tuple[PublicPort, ...], admin_cidrs: tuple[str, ...]
) -> list[aws.ec2.SecurityGroupIngressArgs]:
    rules = []
    for rule in perimeter:
        ipv4, ipv6 = split_by_family(rule.sources(admin_cidrs))
        rules.append(
            aws.ec2.SecurityGroupIngressArgs(
                description=rule.purpose,
                protocol=rule.protocol,
                from_port=rule.ports.first,
                to_port=rule.ports.last,
                cidr_blocks=list(ipv4),
                ipv6_cidr_blocks=list(ipv6),
            )
        )
    rules.append(
        aws.ec2.SecurityGroupIngressArgs(
            description="ICMP", protocol=ICMP["ipv4"], from_port=-1, to_port=-1, cidr_blocks=["0.0.0.0/0"]
        )
    )
    rules.append(
        aws.ec2.SecurityGroupIngressArgs(
            description="ICMPv6", protocol=ICMP["ipv6"], from_port=-1, to_port=-1, ipv6_cidr_blocks=["::/0"]
        )
    )
    return rules


def certbot_policy(zone_id: str, tunnel_domain: str) -> str:
    """Least privilege for certbot-dns-route53: TXT records of the one challenge name, in the one zone."""
    challenge = f"_acme-challenge.{dns.fqdn('lt', tunnel_domain)}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["route53:ListHostedZones", "route53:GetChange"], "Resource": "*"},
                {
                    "Effect": "Allow",
                    "Action": "route53:ChangeResourceRecordSets",
                    "Resource": f"arn:aws:route53:::hostedzone/{zone_id}",
                    "Condition": {
                        "ForAllValues:StringEquals": {"route53:ChangeResourceRecordSetsRecordTypes": ["TXT"]},
                        "ForAllValues:StringLike": {
                            "route53:ChangeResourceRecordSetsNormalizedRecordNames": [challenge]
                        },
                    },
                },
            ],
        },
        sort_keys=True,
    )


class AwsDns(pulumi.ComponentResource):
    """Route 53 A records for the site and LocalTunnel names, in zones looked up by name (or created)."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        *,
        create_zone: bool,
        address: pulumi.Input[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:aws:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def zone_id(slug: str, zone_name: str) -> pulumi.Output[str]:
            if create_zone:
                return aws.route53.Zone(f"{name}-{slug}", name=zone_name, opts=child).zone_id
            invoke = pulumi.InvokeOptions(parent=self)
            return aws.route53.get_zone_output(name=zone_name, private_zone=False, opts=invoke).zone_id

        zones = dns.zones(settings.domain, settings.tunnel_domain, zone_id)
        self.records = [
            aws.route53.Record(
                f"{name}-a-{dns.record_slug(record)}",
                zone_id=zone,
                name=dns.fqdn(record, zone_name),
                type="A",
                ttl=dns.TTL_SECONDS,
                records=[address],
                opts=child,
            )
            for zone_name, zone, records in zones
            for record in records
        ]
        # The zone of the LocalTunnel names (the last one, see dns.zones): certbot answers the *.lt challenge there.
        self.tunnel_zone_id = zones[-1][1]
        self.register_outputs({"tunnelZoneId": self.tunnel_zone_id})


class AwsHost(pulumi.ComponentResource):
    """An EC2 instance ready for the P2P VPS stack.

    Creates: an explicit AWS provider for the stack's region; the pinned SSH host key; a security
    group from the port list; an encrypted EBS data volume (protected, retained) in the instance's
    availability zone; the instance (current Ubuntu LTS AMI for its architecture, IMDSv2 only,
    encrypted root volume, cloud-init); the volume attachment; an Elastic IP and its association;
    Route 53 records; an IAM user that may only write certbot's challenge record; and the
    readiness gate.
    """

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:aws:Host", name, None, opts)
        prefix = settings.resource_prefix
        admin = server.admin
        provider = stack_provider(f"{name}-aws", settings, server, self)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        invoke = pulumi.InvokeOptions(parent=self, provider=provider)

        zone_name = aws.get_availability_zones_output(state="available", opts=invoke).names.apply(
            lambda names: sorted(names)[0]
        )
        vpc = aws.ec2.get_vpc_output(default=True, opts=invoke)
        architecture = aws.ec2.get_instance_type_output(
            instance_type=server.size, opts=invoke
        ).supported_architectures.apply(lambda found: next(arch for arch in ("x86_64", "arm64") if arch in found))
        ami = aws.ec2.get_ami_output(
            most_recent=True,
            owners=[CANONICAL_OWNER],
            filters=architecture.apply(
                lambda arch: [
                    aws.ec2.GetAmiFilterArgs(name="name", values=[ami_name_pattern(server.ubuntu_version, arch)]),
                    aws.ec2.GetAmiFilterArgs(name="virtualization-type", values=["hvm"]),
                ]
            ),
            opts=invoke,
        )

        server_key = host_key(f"{name}-key", self)
        security_group = aws.ec2.SecurityGroup(
            f"{name}-firewall",
            name=prefix,
            description=f"P2P VPS {settings.stack}: public ports of the stack, SSH from admin CIDRs",
            vpc_id=vpc.id,
            ingress=ingress_rules(perimeter, admin.cidrs),
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"], ipv6_cidr_blocks=["::/0"]
                )
            ],
            opts=child,
        )
        volume = aws.ebs.Volume(
            f"{name}-data",
            availability_zone=zone_name,
            size=server.volume_size_gb,
            type="gp3",
            encrypted=True,
            tags={"Name": f"{prefix}-data"},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)),
        )
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami.id,
            instance_type=server.size,
            availability_zone=zone_name,
            vpc_security_group_ids=[security_group.id],
            user_data=user_data(settings, server, server_key, volume.id.apply(ebs_device)),
            user_data_replace_on_change=False,
            # IMDSv2 only, one hop: a container's request (one more hop behind Docker's bridge) gets
            # no token. No IPv6 endpoint (fd00:ec2::254); the host's metadata guard drops it as well.
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                http_protocol_ipv6="disabled",
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True, volume_type="gp3", volume_size=ROOT_VOLUME_GB, delete_on_termination=True
            ),
            tags={"Name": prefix},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(delete_before_replace=True, ignore_changes=["ami"])
            ),
        )
        attachment = aws.ec2.VolumeAttachment(
            f"{name}-data-attachment",
            device_name=DATA_DEVICE_NAME,
            instance_id=instance.id,
            volume_id=volume.id,
            stop_instance_before_detaching=True,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        elastic_ip = aws.ec2.Eip(f"{name}-ip", domain="vpc", tags={"Name": prefix}, opts=child)
        association = aws.ec2.EipAssociation(
            f"{name}-ip-association",
            instance_id=instance.id,
            allocation_id=elastic_ip.allocation_id,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True)),
        )
        zone = AwsDns(
            f"{name}-dns",
            settings,
            create_zone=server.create_dns_zone,
            address=elastic_ip.public_ip,
            opts=pulumi.ResourceOptions(parent=self, providers=[provider]),
        )
        certbot_user = aws.iam.User(f"{name}-certbot", name=f"{prefix}-certbot", path="/p2pvps/", opts=child)
        aws.iam.UserPolicy(
            f"{name}-certbot-policy",
            user=certbot_user.name,
            policy=zone.tunnel_zone_id.apply(lambda zone_id: certbot_policy(zone_id, settings.tunnel_domain)),
            opts=child,
        )
        certbot_key = aws.iam.AccessKey(f"{name}-certbot-key", user=certbot_user.name, opts=child)

        self.host = remote_host(
            name,
            self,
            server,
            host=server_key,
            address=elastic_ip.public_ip,
            machine=instance,
            ready_after=[association, attachment, security_group],
            dns=zone,
            dns_credentials={
                ACCESS_KEY_ID: pulumi.Output.secret(certbot_key.id),
                SECRET_ACCESS_KEY: pulumi.Output.secret(certbot_key.secret),
            },
        )
        self.register_outputs(
            {
                "address": elastic_ip.public_ip,
                "instanceId": instance.id,
                "volumeId": volume.id,
                "hostKey": server_key.public,
            }
        )


CLOUD = Cloud(PROFILE, DNS_CHALLENGE, AwsHost, backup_storage, monitoring)
