"""AWS: what it accepts, certbot's Route 53 plugin, and the P2P VPS server on it (EC2 instance,
encrypted EBS volume, Elastic IP). Its security group is built in `aws_firewall`, its Route 53 records
and certbot's IAM user in `aws_dns`."""

from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws

from components.backup_storage.aws import backup_storage
from components.clouds.aws_dns import ACCESS_KEY_ID, SECRET_ACCESS_KEY, AwsDns, certbot_credentials
from components.clouds.aws_firewall import security_group
from components.clouds.aws_provider import stack_provider
from components.clouds.base import UBUNTU_RELEASES, Cloud, CloudProfile, DnsChallenge, certbot_image
from components.hosts.remote import host_key, remote_host, user_data
from components.monitoring.aws import monitoring
from components.ports import PublicPort
from components.settings import ServerSettings, Settings

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
# certbot's key is made by the stack (`aws_dns`: an IAM user allowed only the challenge record), not configured.
DNS_CHALLENGE = DnsChallenge("route53", certbot_image("dns-route53"), credentials=(ACCESS_KEY_ID, SECRET_ACCESS_KEY))
CANONICAL_OWNER = "099720109477"
UBUNTU_ARCHITECTURES = {"x86_64": "amd64", "arm64": "arm64"}
DATA_DEVICE_NAME = "/dev/sdf"
# A new AMI or user data would need a new instance (or a stop and start); both matter at first boot only,
# and later changes of what user data carried reach the host configuration, in place.
FIRST_BOOT_INPUTS = ("ami", "user_data")
ROOT_VOLUME_GB = 20


def ami_name_pattern(ubuntu_version: str, architecture: str) -> str:
    """Canonical's name for its Ubuntu server AMIs on gp3 root volumes."""
    codename = UBUNTU_RELEASES[ubuntu_version]
    return f"ubuntu/images/hvm-ssd-gp3/ubuntu-{codename}-{ubuntu_version}-{UBUNTU_ARCHITECTURES[architecture]}-server-*"


def ebs_device(volume_id: str) -> str:
    """Where a Nitro instance exposes an attached EBS volume: by its id, without the dash."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


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
        firewall = security_group(
            f"{name}-firewall",
            group_name=prefix,
            stack=settings.stack,
            vpc_id=vpc.id,
            perimeter=perimeter,
            admin_cidrs=server.admin.cidrs,
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
        data_device = volume.id.apply(ebs_device)
        instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=ami.id,
            instance_type=server.size,
            availability_zone=zone_name,
            vpc_security_group_ids=[firewall.id],
            user_data=user_data(settings, server, server_key, data_device),
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
                child, pulumi.ResourceOptions(delete_before_replace=True, ignore_changes=list(FIRST_BOOT_INPUTS))
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
        certbot = certbot_credentials(f"{name}-certbot", settings, zone.tunnel_zone_id, child)

        self.host = remote_host(
            name,
            self,
            server,
            host=server_key,
            address=elastic_ip.public_ip,
            machine=instance,
            data_device=data_device,
            ready_after=[association, attachment, firewall],
            dns=zone,
            dns_credentials=certbot,
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
