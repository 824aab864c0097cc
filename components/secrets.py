"""The stack's secret values: generated with pulumi_random or read from secret config, never plain."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import pulumi
import pulumi_random as random

from components.catalog import Secret
from components.settings import Settings

GENERATED = (
    "CMS_ADMIN_PASSWORD",
    "CMS_COOKIE_SECRET",
    "CMS_SERVICE_TOKEN",
    "MONGO_APP_PASSWORD",
    "MONGO_ROOT_PASSWORD",
    "OB_API_PASSWORD",
)
PASSWORD_LENGTH = 32


def _sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def stack_secrets(
    name: str,
    settings: Settings,
    needed: tuple[Secret, ...],
    dns_credentials: Mapping[str, pulumi.Output[str]],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Output[str]]:
    """A secret Output for every secret the catalog needs.

    Generated values are alphanumeric (32 characters, about 190 bits), so they need no quoting in
    URIs, shell or JavaScript. OpenBazaar only ever sees the SHA-256 of its API password. The
    host backend supplies the DNS credentials certbot uses for its cloud.
    """
    wanted = {secret.name for secret in needed}
    values: dict[str, pulumi.Output[str]] = {}
    for secret_name in GENERATED:
        if secret_name in wanted or (secret_name == "OB_API_PASSWORD" and "OB_API_PASSWORD_SHA256" in wanted):
            password = random.RandomPassword(
                f"{name}-{secret_name.lower().replace('_', '-')}",
                length=PASSWORD_LENGTH,
                special=False,
                opts=pulumi.ResourceOptions(parent=parent),
            )
            values[secret_name] = pulumi.Output.secret(password.result)
    if "OB_API_PASSWORD" in values:
        values["OB_API_PASSWORD_SHA256"] = values["OB_API_PASSWORD"].apply(_sha256_hex)
    values.update(dns_credentials)
    values["TUNNEL_PASSWORD"] = pulumi.Output.secret(settings.secrets.ssh_tunnel_password or "")
    missing = sorted(wanted - values.keys())
    if missing:
        raise pulumi.RunError(f"no value for the secrets {', '.join(missing)}")
    return {secret_name: values[secret_name] for secret_name in sorted(wanted)}
