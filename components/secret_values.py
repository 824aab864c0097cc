"""The stack's secret values, each from where its `Secret` says: generated with pulumi_random,
derived from another, read from secret config, or supplied by the host or a backup repository. Never plain."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

import pulumi
import pulumi_random as random

from components.catalog import SecretSource, ServiceSpec, needed_secrets
from components.settings import Settings

PASSWORD_LENGTH = 32
# name -> (the secret it is computed from, how).
DERIVED: dict[str, tuple[str, Callable[[str], str]]] = {
    "OB_API_PASSWORD_SHA256": ("OB_API_PASSWORD", lambda password: hashlib.sha256(password.encode()).hexdigest()),
}


def generated_secret(name: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A new random password as a secret Output: alphanumeric, PASSWORD_LENGTH characters."""
    password = random.RandomPassword(
        name, length=PASSWORD_LENGTH, special=False, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.secret(password.result)


def secret_values(
    name: str,
    settings: Settings,
    catalog: tuple[ServiceSpec, ...],
    supplied: Mapping[str, pulumi.Output[str]],
    parent: pulumi.Resource,
) -> dict[str, pulumi.Output[str]]:
    """A secret Output for every secret the catalog needs (and every one a derived secret needs); `supplied`
    holds those the host and the backup repositories supply.

    Generated values are alphanumeric (32 characters, about 190 bits), so they need no quoting in
    URIs, shell or JavaScript. OpenBazaar only ever sees the SHA-256 of its API password.
    """
    needed = {secret.name: secret.source for secret in needed_secrets(catalog)}
    for derived, (source, _) in DERIVED.items():
        if derived in needed:
            needed.setdefault(source, SecretSource.GENERATED)
    config = {"TUNNEL_PASSWORD": settings.secret_settings.ssh_tunnel_password}
    values: dict[str, pulumi.Output[str]] = {}
    for secret_name, source in sorted(needed.items(), key=lambda item: item[1] is SecretSource.DERIVED):
        if source is SecretSource.GENERATED:
            values[secret_name] = generated_secret(f"{name}-{secret_name.lower().replace('_', '-')}", parent)
        elif source is SecretSource.DERIVED:
            origin, compute = DERIVED[secret_name]
            values[secret_name] = values[origin].apply(compute)
        elif source is SecretSource.CONFIG:
            values[secret_name] = pulumi.Output.secret(config[secret_name] or "")
        elif secret_name in supplied:
            values[secret_name] = supplied[secret_name]
        else:
            raise pulumi.RunError(f"nothing supplies a value for the secret {secret_name} ({source.value})")
    return values
