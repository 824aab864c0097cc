"""The Listing-Manager image's own files (compose/listing-manager): its Dockerfile and pin, its patch spec and
lockfile, the config module and the health check, run under Node. What it shares with other images:
app_images.py."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app_images import (
    LISTING_MANAGER,
    assert_dockerfile_policy,
    assert_lockfile_matches_package_json,
    assert_patches_require_by_correct_paths,
    assert_pins_documented_commits,
    lm_env,
    node,
    patch_finds,
    tcp_health_check,
)
from tools import require

pytestmark = pytest.mark.tools


def test_dockerfile_policy() -> None:
    assert_dockerfile_policy(LISTING_MANAGER)


def test_dockerfile_pins_the_documented_commit() -> None:
    assert_pins_documented_commits(LISTING_MANAGER)


def test_patch_spec_requires_the_config_and_error_modules_by_a_correct_relative_path() -> None:
    spec = LISTING_MANAGER / "patches/listing-manager.json"
    assert_patches_require_by_correct_paths(spec, {"": ""}, "lib/p2pvps-config.js", 5)


def test_patch_spec_covers_every_hard_coded_endpoint() -> None:
    finds = patch_finds(LISTING_MANAGER / "patches/listing-manager.json")
    for needle in ("yourUsername", "yourPassword", "http://p2pvps.net", "Host: p2pvps.net", "getOBAuth"):
        assert needle in finds, needle


def test_lockfile_matches_package_json() -> None:
    assert_lockfile_matches_package_json(LISTING_MANAGER, 3)


def lm_config(env: dict[str, str]) -> dict[str, Any]:
    script = (
        f"const r = require({json.dumps(str(LISTING_MANAGER / 'p2pvps-config.js'))}).load(process.env);"
        "console.log(JSON.stringify(r));"
    )
    result = node("-e", script, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_lm_config_splits_urls_for_upstream_code() -> None:
    outcome = lm_config(lm_env())
    assert outcome["errors"] == []
    config = outcome["config"]
    assert config["server"] == "http://connextcms" and config["serverPort"] == "3000"
    assert config["obServer"] == "http://openbazaar" and config["obPort"] == "4002"
    assert config["host"] == "p2pvps.example.org"
    https = lm_config(lm_env(SERVER_URL="https://cms.example.org"))["config"]
    assert https["server"] == "https://cms.example.org" and https["serverPort"] == "443"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"SERVER_URL": "http://connextcms:3000/api"}, "SERVER_URL"),
        ({"OB_URL": "openbazaar:4002"}, "OB_URL"),
        ({"OB_PASSWORD": ""}, "OB_PASSWORD"),
        ({"OB_USERNAME": "a:b"}, "OB_USERNAME"),
        ({"P2PVPS_HOST": ""}, "P2PVPS_HOST"),
        ({"CMS_SERVICE_TOKEN": ""}, "CMS_SERVICE_TOKEN"),
        ({"CMS_SERVICE_TOKEN": "t" * 31}, "CMS_SERVICE_TOKEN"),
    ],
)
def test_lm_config_refuses_bad_values(overrides: dict[str, str], message: str) -> None:
    errors = lm_config(lm_env(**overrides))["errors"]
    assert any(message in e for e in errors), errors


def test_lm_healthcheck_tcp() -> None:
    up, down, _seconds = tcp_health_check([require("node"), str(LISTING_MANAGER / "healthcheck.js")])
    assert up.returncode == 0, up.stdout
    assert down.returncode == 1
