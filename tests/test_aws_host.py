"""The AWS host of the aws-us-east-1 stack, as `pulumi up` would register it."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import yaml

from harness import (
    AMI_ID,
    EBS_VOLUME_ID,
    ELASTIC_IPV4,
    HOST_PUBLIC_KEY,
    INSTANCE_ID,
    SENTINEL,
    Evaluation,
    MockCloud,
    container_env,
    containers,
    evaluate,
    host_resources,
    looked_up_zone,
)

pytestmark = pytest.mark.unit

STACK = "aws-us-east-1"
INSTANCE = "aws:ec2/instance:Instance"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
VOLUME = "aws:ebs/volume:Volume"
RECORD = "aws:route53/record:Record"
CERTBOT_POLICY = "p2pvps-host-certbot-policy"
WORLD_V4 = ["0.0.0.0/0"]
WORLD_V6 = ["::/0"]


def ingress(evaluation: Evaluation) -> dict[tuple[str, int, int], dict]:
    rules = evaluation.one(SECURITY_GROUP).plain("ingress")
    return {(rule["protocol"], rule["fromPort"], rule["toPort"]): rule for rule in rules}


def test_host_resources_are_exactly_the_expected_set(aws: Evaluation) -> None:
    assert Counter(r.type for r in host_resources(aws, "p2pvps:aws:Host")) == {
        "p2pvps:aws:Host": 1,
        "p2pvps:aws:Dns": 1,
        "pulumi:providers:aws": 1,
        "tls:index/privateKey:PrivateKey": 1,
        SECURITY_GROUP: 1,
        VOLUME: 1,
        INSTANCE: 1,
        "aws:ec2/volumeAttachment:VolumeAttachment": 1,
        "aws:ec2/eip:Eip": 1,
        "aws:ec2/eipAssociation:EipAssociation": 1,
        RECORD: 4,
        "aws:iam/user:User": 1,
        "aws:iam/userPolicy:UserPolicy": 1,
        "aws:iam/accessKey:AccessKey": 1,
        "command:remote:Command": 2,
    }


def test_no_other_cloud_is_touched(aws: Evaluation) -> None:
    assert not [r.type for r in aws.resources if r.type.startswith(("digitalocean:", "vultr:"))]


def test_every_aws_resource_has_an_explicit_provider_in_the_stack_region(aws: Evaluation) -> None:
    """The host's provider, the backup storage's and the monitoring's: all in the stack's region, none the default."""
    providers = aws.of_type("pulumi:providers:aws")
    assert [provider.plain("region") for provider in providers] == ["us-east-1", "us-east-1", "us-east-1"]
    for registration in aws.resources:
        if registration.type.startswith("aws:"):
            assert any(registration.provider.startswith(p.urn) for p in providers), registration.name


@pytest.mark.parametrize(("size", "arch"), [("t3.small", "amd64"), ("t4g.small", "arm64")])
def test_instance_runs_the_current_ubuntu_ami_for_its_architecture(size: str, arch: str) -> None:
    mock = MockCloud()
    evaluation = evaluate(STACK, overrides={"size": size}, cloud=mock)
    (ami_call,) = [args for token, args in mock.calls if token == "aws:ec2/getAmi:getAmi"]
    name_filter = next(f for f in ami_call["filters"] if f["name"] == "name")
    assert name_filter["values"] == [f"ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{arch}-server-*"]
    assert ami_call["owners"] == ["099720109477"] and ami_call["mostRecent"] is True
    assert evaluation.one(INSTANCE).plain("ami") == AMI_ID


def test_containers_get_no_metadata_token_imdsv2_with_one_hop_and_no_ipv6_endpoint(aws: Evaluation) -> None:
    """A container is one hop further than the host: with a hop limit of 1 its token request gets no answer."""
    assert aws.one(INSTANCE).plain("metadataOptions") == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
        "httpProtocolIpv6": "disabled",
    }


def test_instance_is_hardened_and_never_replaced_by_a_new_ami_or_user_data(aws: Evaluation) -> None:
    instance = aws.one(INSTANCE)
    inputs = instance.plain()
    assert inputs["instanceType"] == "t3.small"
    assert inputs["rootBlockDevice"]["encrypted"] is True and inputs["rootBlockDevice"]["volumeType"] == "gp3"
    assert instance.ignore_changes == ["ami", "userData"]
    assert instance.delete_before_replace
    assert instance.is_secret("userData")


def test_data_volume_is_encrypted_protected_and_in_the_instance_zone(aws: Evaluation) -> None:
    volume = aws.one(VOLUME)
    instance = aws.one(INSTANCE)
    assert volume.plain("encrypted") is True and volume.plain("type") == "gp3" and volume.plain("size") == 30
    assert volume.protect and volume.retain_on_delete
    assert volume.plain("availabilityZone") == instance.plain("availabilityZone") == "us-east-1a"
    assert instance.urn not in volume.dependencies
    attachment = aws.one("aws:ec2/volumeAttachment:VolumeAttachment")
    expected = {"deviceName": "/dev/sdf", "instanceId": INSTANCE_ID, "volumeId": EBS_VOLUME_ID}
    assert {key: attachment.plain(key) for key in expected} == expected
    assert attachment.plain("stopInstanceBeforeDetaching") is True


def test_cloud_init_mounts_the_ebs_volume_by_its_nvme_id(aws: Evaluation) -> None:
    document = yaml.safe_load(aws.one(INSTANCE).plain("userData"))
    mount = next(cmd for cmd in document["runcmd"] if cmd[0].endswith("p2pvps-mount-data"))
    assert mount[1:] == ["/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0", "/srv/p2pvps"]


def test_elastic_ip_is_the_stable_address_for_dns_ssh_and_docker(aws: Evaluation) -> None:
    association = aws.one("aws:ec2/eipAssociation:EipAssociation")
    assert association.plain("instanceId") == INSTANCE_ID
    assert aws.exports["publicAddress"] == ELASTIC_IPV4
    assert aws.one("pulumi:providers:docker").plain("host") == f"ssh://p2pvps@{ELASTIC_IPV4}"
    records = {r.plain("name"): r.plain() for r in aws.of_type(RECORD)}
    assert set(records) == {
        "us-east-1.p2pvps.net",
        "www.us-east-1.p2pvps.net",
        "lt.us-east-1.p2pvps.net",
        "*.lt.us-east-1.p2pvps.net",
    }
    for record in records.values():
        assert record["records"] == [ELASTIC_IPV4] and record["type"] == "A" and record["ttl"] == 300
        assert record["zoneId"] == looked_up_zone("us-east-1.p2pvps.net")


def test_security_group_has_exactly_the_port_list(aws: Evaluation) -> None:
    rules = ingress(aws)
    assert rules[("tcp", 22, 22)]["cidrBlocks"] == ["203.0.113.0/24"]
    assert rules[("tcp", 22, 22)].get("ipv6CidrBlocks", []) == []
    for ports in ((80, 80), (443, 443), (4001, 4001), (6100, 6100), (6101, 6200), (40000, 40099)):
        rule = rules[("tcp", *ports)]
        assert rule["cidrBlocks"] == WORLD_V4 and rule["ipv6CidrBlocks"] == WORLD_V6, ports
    assert set(rules) == {
        ("tcp", 22, 22),
        ("tcp", 80, 80),
        ("tcp", 443, 443),
        ("tcp", 4001, 4001),
        ("tcp", 6100, 6100),
        ("tcp", 6101, 6200),
        ("tcp", 40000, 40099),
        ("icmp", -1, -1),
        ("58", -1, -1),
    }
    (egress,) = aws.one(SECURITY_GROUP).plain("egress")
    assert egress["protocol"] == "-1" and egress["cidrBlocks"] == WORLD_V4


def test_certbot_user_may_only_write_the_challenge_record(aws: Evaluation) -> None:
    policy = json.loads(aws.named(CERTBOT_POLICY).plain("policy"))
    write = next(s for s in policy["Statement"] if s["Action"] == "route53:ChangeResourceRecordSets")
    assert write["Resource"] == f"arn:aws:route53:::hostedzone/{looked_up_zone('us-east-1.p2pvps.net')}"
    assert write["Condition"]["ForAllValues:StringEquals"]["route53:ChangeResourceRecordSetsRecordTypes"] == ["TXT"]
    names = write["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert names == ["_acme-challenge.lt.us-east-1.p2pvps.net"]
    read = next(s for s in policy["Statement"] if s is not write)
    assert sorted(read["Action"]) == ["route53:GetChange", "route53:ListHostedZones"]


def test_certbot_gets_the_route53_plugin_and_the_scoped_key_as_secrets(aws: Evaluation) -> None:
    env = container_env(containers(aws)["certbot"])
    assert env["DNS_PLUGIN"] == "route53"
    assert env["AWS_SECRET_ACCESS_KEY"] == f"{SENTINEL}awssecretkey"
    image = next(r for r in aws.of_type("docker:index/remoteImage:RemoteImage") if "certbot" in r.plain("name"))
    assert image.plain("name") == "certbot/dns-route53:v4.0.0"


def test_created_zone_is_used_by_records_and_policy() -> None:
    evaluation = evaluate(STACK, overrides={"createDnsZone": True})
    zone = evaluation.one("aws:route53/zone:Zone")
    assert zone.plain("name") == "us-east-1.p2pvps.net"
    assert {r.plain("zoneId") for r in evaluation.of_type(RECORD)} == {"ZCREATEDZONE"}
    assert "hostedzone/ZCREATEDZONE" in evaluation.named(CERTBOT_POLICY).plain("policy")


def test_readiness_gate_uses_the_elastic_ip_and_pinned_key(aws: Evaluation) -> None:
    gate = aws.named("p2pvps-host-ready")
    connection = gate.plain("connection")
    assert connection["host"] == ELASTIC_IPV4 and connection["hostKey"] == HOST_PUBLIC_KEY
    for type_ in ("aws:ec2/eipAssociation:EipAssociation", "aws:ec2/volumeAttachment:VolumeAttachment", SECURITY_GROUP):
        assert aws.one(type_).urn in gate.dependencies
    assert gate.plain("triggers") == [INSTANCE_ID]
