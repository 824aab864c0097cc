"""The OpenBazaar image's own files (compose/openbazaar): its Dockerfile and pinned upstream image, the
entrypoint (run with a fake `openbazaard` and real jq) and the health check. What it shares with other
images: app_images.py."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from app_images import (
    OPENBAZAAR,
    assert_dockerfile_policy,
    assert_strict_executable_shell,
    base_env,
    shell_scripts,
    tcp_health_check,
)
from tools import require

pytestmark = pytest.mark.tools

VALID_HASH = hashlib.sha256(b"correct horse battery staple").hexdigest()


def test_dockerfile_policy() -> None:
    assert_dockerfile_policy(OPENBAZAAR)


def test_dockerfile_pins_the_documented_upstream_image() -> None:
    assert "openbazaar/server:v0.12.4" in (OPENBAZAAR / "Dockerfile").read_text()
    assert "0f6431375be3567060555484f95e424711997a91" in (OPENBAZAAR / "README.md").read_text()


@pytest.mark.parametrize("script", shell_scripts(OPENBAZAAR), ids=lambda p: p.name)
def test_scripts_are_strict_executable_shell(script: Path) -> None:
    assert_strict_executable_shell(script)


FAKE_INIT_CONFIG = {
    "API": {"HTTPHeaders": None},
    "Addresses": {
        "API": "",
        "Announce": None,
        "Gateway": "/ip4/127.0.0.1/tcp/4002",
        "NoAnnounce": None,
        "Swarm": ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001", "/ip4/0.0.0.0/tcp/9005/ws", "/ip6/::/tcp/9005/ws"],
    },
    "Bootstrap": ["/ip4/107.170.133.32/tcp/4001/ipfs/QmboEn7ycZqb8sXH6wJunWE6d3mdT9iVD7XWDmCcKE9jZ5"],
    "Identity": {"PeerID": "QmFakePeer", "PrivKey": "CAESQFakeKey"},
    "JSON-API": {"AllowedIPs": [], "Enabled": True, "HTTPHeaders": None},
    "Wallet": {"Type": "spvwallet", "MaxFee": 2000},
    "Wallets": {"BCH": {"Type": "API", "API": "https://bch-insight.bitpay.com/api"}},
}

FAKE_OPENBAZAARD = """#!/bin/sh
# Stand-in for openbazaard: `init -d DIR` writes a v0.12.4-shaped config,
# `start ...` records its arguments and the config it was started with.
set -eu
case "$1" in
  init)
    [ "$2" = "-d" ]
    mkdir -p "$3"
    echo x >> "$3/.init-calls"
    cp "$FAKE_CONFIG" "$3/config"
    ;;
  start)
    printf '%s\\n' "$$" "$@" > "$FAKE_RECORD"
    ;;
  --version)
    echo 0.12.4
    ;;
  *)
    exit 3
    ;;
esac
"""


@pytest.fixture
def ob_layout(tmp_path: Path) -> dict[str, Path]:
    require("jq")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "openbazaard"
    fake.write_text(FAKE_OPENBAZAARD)
    fake.chmod(0o755)
    config = tmp_path / "init-config.json"
    config.write_text(json.dumps(FAKE_INIT_CONFIG))
    data = tmp_path / "data"
    data.mkdir()
    logs = tmp_path / "logs"
    logs.mkdir()
    return {"bin": bin_dir, "config": config, "data": data, "logs": logs, "record": tmp_path / "record"}


def run_ob(layout: dict[str, Path], *args: str, **env: str) -> subprocess.Popen[str]:
    full_env = (
        base_env()
        | {
            "PATH": f"{layout['bin']}:{os.environ['PATH']}",
            "OB_DATA_DIR": str(layout["data"]),
            "P2PVPS_LOG_DIR": str(layout["logs"]),
            "P2PVPS_OB_FILTER": str(OPENBAZAAR / "openbazaar-config.jq"),
            "FAKE_CONFIG": str(layout["config"]),
            "FAKE_RECORD": str(layout["record"]),
        }
        | env
    )
    return subprocess.Popen(
        ["sh", str(OPENBAZAAR / "entrypoint.sh"), *args],
        env=full_env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def ob_start(layout: dict[str, Path], **env: str) -> tuple[subprocess.Popen[str], str]:
    defaults = {"OB_API_USERNAME": "p2pvps", "OB_API_PASSWORD_SHA256": VALID_HASH}
    proc = run_ob(layout, "start", "--verbose", **(defaults | env))
    _out, err = proc.communicate(timeout=30)
    return proc, err


def test_ob_first_start_initialises_and_merges(ob_layout: dict[str, Path]) -> None:
    proc, err = ob_start(ob_layout)
    assert proc.returncode == 0, err
    data = ob_layout["data"]
    assert (data / ".init-calls").read_text() == "x\n"
    config = json.loads((data / "config").read_text())
    api = config["JSON-API"]
    assert api["Username"] == "p2pvps" and api["Password"] == VALID_HASH
    assert api["Authenticated"] is True and api["SSL"] is False and api["AllowedIPs"] == [] and api["Enabled"] is True
    assert api["HTTPHeaders"] is None, "keys the merge does not name are kept"
    assert config["Addresses"]["Gateway"] == "/ip4/0.0.0.0/tcp/4002"
    assert config["Addresses"]["Swarm"] == FAKE_INIT_CONFIG["Addresses"]["Swarm"]
    assert config["Identity"] == FAKE_INIT_CONFIG["Identity"]
    assert config["Bootstrap"] == FAKE_INIT_CONFIG["Bootstrap"] and config["Wallets"] == FAKE_INIT_CONFIG["Wallets"]
    assert config["Wallet"] == {"Type": "bitcoincash", "MaxFee": 2000}
    assert stat.S_IMODE((data / "config").stat().st_mode) == 0o600
    record = ob_layout["record"].read_text().splitlines()
    assert int(record[0]) == proc.pid, "openbazaard must replace the entrypoint (exec, PID 1)"
    assert record[1:] == ["start", "-d", str(data), "--verbose"]
    assert (data / "logs").is_symlink() and os.readlink(data / "logs") == str(ob_layout["logs"])
    assert not list(data.glob(".config.p2pvps-tmp"))


def test_ob_restart_keeps_identity_and_coin_and_applies_new_credentials(ob_layout: dict[str, Path]) -> None:
    assert ob_start(ob_layout)[0].returncode == 0
    config_path = ob_layout["data"] / "config"
    config = json.loads(config_path.read_text())
    config["Identity"]["PeerID"] = "QmExistingNode"
    config["Wallet"]["Type"] = "spvwallet"
    config["Addresses"]["Swarm"] = ["/ip4/0.0.0.0/tcp/9005/ws"]
    config_path.write_text(json.dumps(config))
    other_hash = hashlib.sha256(b"rotated").hexdigest().upper()
    proc, err = ob_start(
        ob_layout, OB_API_USERNAME="operator", OB_API_PASSWORD_SHA256=other_hash, OB_WALLET_TYPE="zcashd"
    )
    assert proc.returncode == 0, err
    assert (ob_layout["data"] / ".init-calls").read_text() == "x\n", "init must run only once"
    merged = json.loads(config_path.read_text())
    assert merged["Identity"]["PeerID"] == "QmExistingNode"
    assert merged["Wallet"]["Type"] == "spvwallet", "the coin of an existing wallet is never switched"
    assert merged["JSON-API"]["Username"] == "operator"
    assert merged["JSON-API"]["Password"] == other_hash.lower()
    assert merged["Addresses"]["Swarm"] == ["/ip4/0.0.0.0/tcp/9005/ws", "/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"]


@pytest.mark.parametrize(
    "env",
    [
        {"OB_API_PASSWORD_SHA256": VALID_HASH[:-1]},
        {"OB_API_PASSWORD_SHA256": VALID_HASH + "0"},
        {"OB_API_PASSWORD_SHA256": "g" * 64},
        {"OB_API_PASSWORD_SHA256": ""},
        {"OB_API_PASSWORD_SHA256": "correct horse battery staple"},
        {"OB_API_USERNAME": ""},
        {"OB_API_USERNAME": "a:b"},
        {"OB_WALLET_TYPE": "dogecoin"},
    ],
    ids=["63-hex", "65-hex", "not-hex", "empty", "plaintext", "no-user", "colon-user", "bad-coin"],
)
def test_ob_refuses_bad_settings(ob_layout: dict[str, Path], env: dict[str, str]) -> None:
    proc, err = ob_start(ob_layout, **env)
    assert proc.returncode == 1
    assert "p2pvps-openbazaar-entrypoint" in err
    assert not (ob_layout["data"] / "config").exists()
    assert not ob_layout["record"].exists()


def test_ob_moves_existing_logs_into_the_log_dir(ob_layout: dict[str, Path]) -> None:
    old_logs = ob_layout["data"] / "logs"
    old_logs.mkdir()
    (old_logs / "ob.log").write_text("old ob\n")
    (ob_layout["logs"] / "api.log").write_text("current api\n")
    (old_logs / "api.log").write_text("old api\n")
    proc, err = ob_start(ob_layout)
    assert proc.returncode == 0, err
    assert (ob_layout["logs"] / "ob.log").read_text() == "old ob\n"
    assert (ob_layout["logs"] / "api.log").read_text() == "current api\n"
    assert (ob_layout["logs"] / "api.log.pre-p2pvps").read_text() == "old api\n"
    assert old_logs.is_symlink()


def test_ob_passes_other_commands_through(ob_layout: dict[str, Path]) -> None:
    proc = run_ob(ob_layout, "--version")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip() == "0.12.4"
    assert not (ob_layout["data"] / "config").exists()


def test_ob_healthcheck_tcp() -> None:
    require("bash")
    require("timeout")
    up, down, seconds = tcp_health_check([str(OPENBAZAAR / "healthcheck.sh")])
    assert up.returncode == 0, up.stdout
    assert down.returncode == 1 and seconds < 10
