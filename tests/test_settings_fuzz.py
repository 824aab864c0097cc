"""Generated stack configurations, valid and invalid for every key: an invalid one stops the program with
a RunError naming each offending key and registers nothing; a valid one registers the same resource
types as its example stack."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

import hypothesis.strategies as st
import pulumi
import pytest
from hypothesis import HealthCheck, given, settings

from harness import run_program

pytestmark = pytest.mark.unit

SshKey = str


def _ssh_key(blob: bytes) -> SshKey:
    key_type = b"ssh-ed25519"
    payload = len(key_type).to_bytes(4, "big") + key_type + (32).to_bytes(4, "big") + blob
    return f"ssh-ed25519 {base64.b64encode(payload).decode()} fuzz@example.com"


LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
DOMAINS = st.lists(LABEL, min_size=2, max_size=4).map(".".join)
IPV4_CIDRS = st.tuples(
    st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(8, 32)
).map(lambda p: f"{p[0]}.{p[1]}.{p[2]}.{p[3]}/{p[4]}")
IPV6_CIDRS = st.tuples(st.integers(0x2001, 0x2FFF), st.integers(16, 128)).map(lambda p: f"{p[0]:x}:db8::/{p[1]}")
SSH_KEYS = st.binary(min_size=32, max_size=32).map(_ssh_key)
BOOLEANS = st.sampled_from(["true", "false"])
NOT_BOOLEANS = st.sampled_from(["yes", "no", "1", "0", "True ish", "enabled"])


@dataclass(frozen=True)
class Cloud:
    stack: str
    regions: tuple[str, ...]
    sizes: tuple[str, ...]
    foreign_regions: tuple[str, ...]
    foreign_sizes: tuple[str, ...]
    ipv6: bool


CLOUDS = (
    Cloud(
        "dev",
        ("nyc3", "ams3", "fra1", "sgp1"),
        ("s-1vcpu-2gb", "s-2vcpu-4gb"),
        ("us-east-1", "ewr"),
        ("t3.small", "vc2-1c-2gb"),
        True,
    ),
    Cloud(
        "aws-us-east-1",
        ("us-east-1", "eu-central-1"),
        ("t3.small", "t4g.medium"),
        ("nyc3", "ewr"),
        ("s-1vcpu-2gb", "t2.micro"),
        False,
    ),
    Cloud(
        "vultr-ewr",
        ("ewr", "ams", "fra"),
        ("vc2-1c-2gb", "vhf-2c-4gb"),
        ("nyc3", "us-east-1"),
        ("s-1vcpu-2gb", "t3.small"),
        True,
    ),
)


def key_values(cloud: Cloud) -> dict[str, tuple[st.SearchStrategy[object], st.SearchStrategy[object]]]:
    """(valid, invalid) value strategies for every key, for one cloud."""
    return {
        "region": (st.sampled_from(cloud.regions), st.sampled_from(cloud.foreign_regions)),
        "size": (st.sampled_from(cloud.sizes), st.sampled_from(cloud.foreign_sizes)),
        "ubuntuVersion": (st.sampled_from(["24.04", "26.04"]), st.sampled_from(["22.04", "24.10", "noble"])),
        "domain": (DOMAINS, st.sampled_from(["localhost", "Example.COM", "p2p_vps.net", "-bad.net", "a..b"])),
        "adminEmail": (
            st.sampled_from(["ops@p2pvps.net", "a.b+c@example.org"]),
            st.sampled_from(["ops", "ops@", "@x.y"]),
        ),
        "adminUser": (
            st.from_regex(r"\A[a-z][a-z0-9_-]{2,15}\Z").filter(
                lambda u: u not in {"root", "admin", "ubuntu", "docker"}
            ),
            st.sampled_from(["root", "Admin", "has space", "9lives!"]),
        ),
        "adminCidrs": (
            st.lists(st.one_of(IPV4_CIDRS, IPV6_CIDRS), min_size=1, max_size=3),
            st.sampled_from([["300.1.1.1/33"], ["10.0.0.1"], [], "203.0.113.0/24"]),
        ),
        "sshPublicKeys": (
            st.lists(SSH_KEYS, min_size=1, max_size=2),
            st.sampled_from([["ssh-ed25519 !!"], ["not a key"], []]),
        ),
        "acmeStaging": (BOOLEANS, NOT_BOOLEANS),
        "volumeSizeGb": (st.integers(1, 16384).map(str), st.sampled_from(["0", "-5", "16385", "twenty", "1.5"])),
        "ipv6": (
            BOOLEANS if cloud.ipv6 else st.just("false"),
            NOT_BOOLEANS if cloud.ipv6 else st.sampled_from(["true", "maybe"]),
        ),
        "createDnsZone": (BOOLEANS, NOT_BOOLEANS),
        "sshServerPort": (st.integers(7000, 7099).map(str), st.sampled_from(["22", "80", "70000", "port"])),
        "sshTunnelPorts": (
            st.integers(8000, 8900).map(lambda first: f"{first}-{first + 99}"),
            st.sampled_from(["6200-6100", "100-200", "6101-70000", "a-b"]),
        ),
        "localtunnelPorts": (
            st.integers(41000, 41900).map(lambda first: f"{first}-{first + 49}"),
            st.sampled_from(["41000-41003", "443", "40000"]),
        ),
        "rebootWindow": (
            st.one_of(
                st.just("off"), st.tuples(st.integers(0, 23), st.integers(0, 59)).map("{0[0]:02}:{0[1]:02}".format)
            ),
            st.sampled_from(["3:30", "24:00", "12:60", "now", "never", "03:30:00"]),
        ),
    }


@st.composite
def configurations(draw: st.DrawFn) -> tuple[Cloud, dict[str, object], set[str]]:
    cloud = draw(st.sampled_from(CLOUDS))
    overrides: dict[str, object] = {}
    invalid: set[str] = set()
    for key, (valid, wrong) in key_values(cloud).items():
        choice = draw(st.sampled_from(["keep", "valid", "invalid"]))
        if choice == "valid":
            overrides[key] = draw(valid)
        elif choice == "invalid" and draw(st.integers(0, 3)) == 0:
            overrides[key] = draw(wrong)
            invalid.add(key)
    return cloud, overrides, invalid


BASELINE: dict[tuple[str, bool], set[str]] = {}


def resource_types(stack: str, create_dns_zone: bool) -> set[str]:
    """The types the example stack registers (with or without a new DNS zone)."""
    if (stack, create_dns_zone) not in BASELINE:
        evaluation = run_program(stack, overrides={"createDnsZone": create_dns_zone})
        assert evaluation.error is None
        BASELINE[(stack, create_dns_zone)] = {r.type for r in evaluation.resources}
    return BASELINE[(stack, create_dns_zone)]


@settings(
    max_examples=int(os.environ.get("P2PVPS_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(configurations())
def test_generated_configuration(case: tuple[Cloud, dict[str, object], set[str]]) -> None:
    cloud, overrides, invalid = case
    evaluation = run_program(cloud.stack, overrides=overrides)
    if invalid:
        assert isinstance(evaluation.error, pulumi.RunError), f"{overrides} should have been refused"
        message = str(evaluation.error)
        for key in invalid:
            assert f"p2pvps:{key}: " in message, f"{key} not named in: {message}"
        assert evaluation.resources == []
    else:
        assert evaluation.error is None, f"{overrides} was refused: {evaluation.error}"
        create_zone = overrides.get("createDnsZone", "false") == "true"
        assert {r.type for r in evaluation.resources} == resource_types(cloud.stack, create_zone)
