"""Secret-leak scan. Every example stack runs with a recognisable sentinel for every secret: config
secrets, generated passwords, private keys, cloud access keys. No sentinel may appear outside a secret
wrapper in any registered input or stack output. (The offline plans are scanned in test_plans.)"""

from __future__ import annotations

from typing import Any

import pytest

from harness import SENTINEL, Evaluation, evaluate, is_secret, secret, stack_names

pytestmark = pytest.mark.unit


def plaintext_leaks(value: Any, path: str = "") -> list[str]:
    """Paths of every string holding a sentinel outside a secret wrapper."""
    if isinstance(value, dict):
        if is_secret(value):
            return []
        return [leak for key, item in value.items() for leak in plaintext_leaks(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [leak for index, item in enumerate(value) for leak in plaintext_leaks(item, f"{path}[{index}]")]
    return [path] if isinstance(value, str) and SENTINEL in value else []


def sentinels_inside_secrets(value: Any) -> int:
    """How many secret-wrapped values carry a sentinel (the control: the scan looks at real secrets)."""
    if isinstance(value, dict):
        if is_secret(value):
            return int(SENTINEL in str(value.get("value")))
        return sum(sentinels_inside_secrets(item) for item in value.values())
    if isinstance(value, list):
        return sum(sentinels_inside_secrets(item) for item in value)
    return 0


def assert_no_plaintext_leak(evaluation: Evaluation) -> None:
    for registration in evaluation.resources:
        assert plaintext_leaks(registration.inputs) == [], registration.name
    assert plaintext_leaks(evaluation.exports) == []


@pytest.mark.parametrize("stack", stack_names())
def test_no_secret_in_plaintext_in_any_input_or_output(stack: str) -> None:
    evaluation = evaluate(stack)
    assert_no_plaintext_leak(evaluation)
    assert sum(sentinels_inside_secrets(r.inputs) for r in evaluation.resources) >= 5, "the sentinels never arrived"


# Backups to a configured repository, and a new stack restored from another: their keys and passwords too.
BACKUP_CONFIGS = {
    "dev-restored": ("dev", {"restoreFrom": "s3:https://nyc3.digitaloceanspaces.com/old-backups/old"}),
    "dev-own-repository": ("dev", {"backupRepository": "s3:https://s3.eu-west-1.amazonaws.com/elsewhere/dev"}),
    "local-backup": ("local", {"backup": True}),
}


@pytest.mark.parametrize("config", sorted(BACKUP_CONFIGS))
def test_no_backup_secret_in_plaintext(config: str) -> None:
    stack, overrides = BACKUP_CONFIGS[config]
    evaluation = evaluate(stack, overrides=overrides)
    assert_no_plaintext_leak(evaluation)
    assert any(SENTINEL in str(value) for name, value in evaluation.exports.items() if name.startswith("backup"))


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_no_registry_login_in_plaintext(stack: str) -> None:
    evaluation = evaluate(stack, overrides={"imageRegistry": "ghcr.io/example-owner/p2pvps"})
    assert_no_plaintext_leak(evaluation)
    assert sentinels_inside_secrets(evaluation.one("pulumi:providers:docker").inputs) == 1, "the login arrived"


def test_the_scan_finds_a_leak() -> None:
    assert plaintext_leaks({"envs": ["A=1", f"TOKEN={SENTINEL}x"]}) == [".envs[1]"]
    assert plaintext_leaks({"envs": [secret(f"TOKEN={SENTINEL}x")]}) == []
