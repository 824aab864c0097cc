"""The AWS server's security group: the stack's public ports, SSH from the admin CIDRs, ICMP, and
everything outbound."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.ports import PublicPort, split_by_family

ICMP = {"ipv4": "icmp", "ipv6": "58"}


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


def security_group(
    resource_name: str,
    *,
    group_name: str,
    stack: str,
    vpc_id: pulumi.Input[str],
    perimeter: tuple[PublicPort, ...],
    admin_cidrs: tuple[str, ...],
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """The security group in the stack's default VPC that the instance is born in."""
    return aws.ec2.SecurityGroup(
        resource_name,
        name=group_name,
        description=f"P2P VPS {stack}: public ports of the stack, SSH from admin CIDRs",
        vpc_id=vpc_id,
        ingress=ingress_rules(perimeter, admin_cidrs),
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"], ipv6_cidr_blocks=["::/0"]
            )
        ],
        opts=opts,
    )
