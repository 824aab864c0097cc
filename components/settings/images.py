"""The image part of the settings: a registry to pull the project's images from, and how to log in to it."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.settings.model import NAMESPACE, ImageRegistry
from components.settings.reader import Reader
from components.settings.validators import registry_error

CREDENTIALS = ("imageRegistryUsername", "imageRegistryPassword")


def image_registry(read: Reader, secrets: Mapping[str, str]) -> ImageRegistry | None:
    """`imageRegistry` with its user name and password, both or neither; the credentials are used only with it."""
    # Stripped: a token piped into `pulumi config set` may end in a newline.
    given = {key: (secrets.get(key) or "").strip() for key in CREDENTIALS}
    repository = read.check("imageRegistry", read.text("imageRegistry", required=False), registry_error)
    if repository is None:
        return None
    missing = [key for key, value in given.items() if not value]
    if len(missing) == 1:
        (key,) = missing
        (other,) = set(CREDENTIALS) - {key}
        read.problems.add(
            key,
            f"missing; {NAMESPACE}:{other} is set, and a registry login needs both: "
            f"`pulumi config set --secret {NAMESPACE}:{key} <value>`, "
            f"or remove {NAMESPACE}:{other} to pull anonymously",
        )
    if missing:
        return ImageRegistry(repository=repository, username=None, password=None)
    username, password = (pulumi.Output.secret(given[key]) for key in CREDENTIALS)
    return ImageRegistry(repository=repository, username=username, password=password)
