"""The mock cloud: plausible, fixed provider answers for every resource and lookup the program makes.

Ids and addresses come from documentation ranges; values a provider would generate secretly are
recognisable sentinels, so tests can look for them where they must not be.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import mocks

SENTINEL = "SENTINELSECRET"
RESERVED_IPV4 = "203.0.113.10"
DROPLET_IPV6 = "2001:db8::10"
DROPLET_ID = "424242"
HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockHostKeyMockHostKeyMockHostKeyMock mock"
ELASTIC_IPV4 = "198.51.100.20"
INSTANCE_ID = "i-0p2pvps"
EBS_VOLUME_ID = "vol-0123456789abcdef0"
AMI_ID = "ami-0ubuntu2404"


def looked_up_zone(name: str) -> str:
    """The id of the Route 53 zone `name` as the getZone lookup returns it."""
    return "Z" + name.upper().replace(".", "").replace("-", "")


def sns_topic_arn(region: str, name: str) -> str:
    """The ARN of the SNS topic `name` in `region` of the mock account."""
    return f"arn:aws:sns:{region}:{AWS_ACCOUNT_ID}:{name}"


AWS_ACCOUNT_ID = "123456789012"
VULTR_OS_ID = "2284"
BUCKET_SUFFIX = "0a1b2c3d"
VULTR_OBJECT_STORAGE_HOST = "ewr1.vultrobjects.com"


def _instance_type(args: Mapping[str, Any]) -> dict[str, Any]:
    """Graviton families (a `g` after the generation digit, e.g. t4g) are arm64, the rest x86_64."""
    family = str(args.get("instanceType", "")).split(".")[0]
    return {"supportedArchitectures": ["arm64"] if re.fullmatch(r"[a-z]+\d+[a-z]*g[a-z]*", family) else ["x86_64"]}


INVOKE_RESULTS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda _: {"names": ["us-east-1b", "us-east-1a"]},
    "aws:ec2/getVpc:getVpc": lambda _: {"id": "vpc-0default"},
    "aws:ec2/getInstanceType:getInstanceType": _instance_type,
    "aws:ec2/getAmi:getAmi": lambda _: {"id": AMI_ID},
    "aws:route53/getZone:getZone": lambda args: {"zoneId": looked_up_zone(args["name"]), "name": args["name"]},
    "vultr:index/getOs:getOs": lambda _: {"id": VULTR_OS_ID},
    "vultr:index/getObjectStorageCluster:getObjectStorageCluster": lambda _: {
        "id": 2,
        "hostname": VULTR_OBJECT_STORAGE_HOST,
    },
    "vultr:index/getObjectStorageTier:getObjectStorageTier": lambda _: {"id": 3},
}


@dataclass
class MockCloud(mocks.Mocks):
    """Plausible provider answers: ids, addresses and generated keys, with secrets set to sentinels."""

    host_public_key: str = HOST_PUBLIC_KEY
    host_private_key: str = f"{SENTINEL}-host-private-key"
    one_shot_exit_code: int = 0
    """What a container that runs once (`mustRun` false) exits with."""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ == "digitalocean:index/droplet:Droplet":
            resource_id = DROPLET_ID
            outputs |= {"ipv4Address": "192.0.2.10", "ipv6Address": DROPLET_IPV6 if args.inputs.get("ipv6") else ""}
        elif args.typ == "digitalocean:index/reservedIp:ReservedIp":
            outputs |= {"ipAddress": RESERVED_IPV4}
        elif args.typ == "digitalocean:index/sshKey:SshKey":
            outputs |= {"fingerprint": f"fp:{args.name}"}
        elif args.typ == "digitalocean:index/dnsRecord:DnsRecord":
            outputs |= {"fqdn": f"{args.inputs['name']}.{args.inputs['domain']}"}
        elif args.typ == "random:index/randomPassword:RandomPassword":
            outputs |= {"result": f"{SENTINEL}{args.name.replace('-', '')}"}
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs |= {"imageId": f"sha256:{args.name}", "repoDigest": f"{args.inputs['name']}@sha256:0"}
        elif args.typ == "aws:ec2/eip:Eip":
            outputs |= {"publicIp": ELASTIC_IPV4, "allocationId": "eipalloc-0p2pvps"}
        elif args.typ == "aws:ec2/instance:Instance":
            resource_id = INSTANCE_ID
        elif args.typ == "aws:ebs/volume:Volume":
            resource_id = EBS_VOLUME_ID
        elif args.typ == "aws:iam/accessKey:AccessKey":
            resource_id = "AKIAMOCKACCESSKEYID"
            outputs |= {"secret": f"{SENTINEL}awssecretkey"}
        elif args.typ == "aws:route53/zone:Zone":
            outputs |= {"zoneId": "ZCREATEDZONE"}
        elif args.typ == "vultr:index/reservedIp:ReservedIp":
            outputs |= {"subnet": RESERVED_IPV4}
        elif args.typ == "vultr:index/instance:Instance":
            resource_id = INSTANCE_ID
            outputs |= {"v6MainIp": DROPLET_IPV6}
        elif args.typ == "random:index/randomId:RandomId":
            outputs |= {"hex": BUCKET_SUFFIX}
        elif args.typ == "docker:index/container:Container" and args.inputs.get("mustRun") is False:
            outputs |= {"exitCode": self.one_shot_exit_code}
        elif args.typ == "aws:s3/bucket:Bucket":
            resource_id = args.inputs["bucket"]
            outputs |= {"arn": f"arn:aws:s3:::{args.inputs['bucket']}"}
        elif args.typ == "aws:sns/topic:Topic":
            outputs |= {"arn": sns_topic_arn(args.inputs["region"], args.inputs["name"])}
        elif args.typ == "digitalocean:index/spacesKey:SpacesKey":
            outputs |= {"accessKey": "DO00MOCKSPACESKEY", "secretKey": f"{SENTINEL}spacessecretkey"}
        elif args.typ == "vultr:index/objectStorage:ObjectStorage":
            outputs |= {
                "s3Hostname": VULTR_OBJECT_STORAGE_HOST,
                "s3AccessKey": "MOCKVULTRS3ACCESSKEY",
                "s3SecretKey": f"{SENTINEL}vultrs3secretkey",
            }
        elif args.typ == "tls:index/privateKey:PrivateKey":
            outputs |= {"publicKeyOpenssh": self.host_public_key + "\n", "privateKeyOpenssh": self.host_private_key}
        return resource_id, outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append((args.token, dict(args.args)))
        answer = INVOKE_RESULTS.get(args.token)
        return (answer(args.args) if answer else {}), []
