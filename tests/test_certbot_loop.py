"""compose/certbot/certbot-loop.sh with a stand-in `certbot` that records its arguments and
creates the lineage the real one would: what is requested, how, and what Nginx is pointed at."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from components.catalog import COMPOSE_DIR
from tools import require, run

pytestmark = pytest.mark.tools

LOOP = COMPOSE_DIR / "certbot" / "certbot-loop.sh"
FAKE_CERTBOT = """#!/bin/sh
# Stand-in for certbot: log the call, create the lineage, fail for names listed in $FAIL_FOR.
echo "$*" >> "$CALLS"
lineage=$(printf '%s\\n' "$@" | sed -n '/^--cert-name$/{n;p;}')
case " $FAIL_FOR " in *" ${lineage%%-*} "*) exit 1 ;; esac
mkdir -p "$LETSENCRYPT_DIR/live/$lineage"
"""


@pytest.fixture
def sandbox(tmp_path: Path) -> dict[str, str]:
    """The script's directories moved into tmp_path through its environment, and a fake certbot first on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "certbot"
    fake.write_text(FAKE_CERTBOT)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "run").mkdir()
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp_path / "calls"),
        "LETSENCRYPT_DIR": str(tmp_path / "letsencrypt"),
        "ACME_WEBROOT": str(tmp_path / "acme"),
        "RUN_DIR": str(tmp_path / "run"),
        "P2PVPS_DOMAIN": "dev.p2pvps.net",
        "ACME_EMAIL": "ops@p2pvps.net",
        "DNS_PLUGIN": "digitalocean",
        "DO_TOKEN": "SENTINELSECRETtoken",
        "FAIL_FOR": "",
    }


def once(env: dict[str, str], **changes: str) -> tuple[int, list[str]]:
    result = run([require("sh"), str(LOOP), "--once"], env=env | changes)
    calls = Path(env["CALLS"]).read_text().splitlines() if Path(env["CALLS"]).exists() else []
    return result.returncode, calls


def test_one_pass_issues_both_certificates_and_points_nginx_at_them(sandbox: dict[str, str]) -> None:
    code, calls = once(sandbox)
    assert code == 0
    site, wildcard = calls
    assert "--cert-name site-dev.p2pvps.net --webroot -w" in site and "-d dev.p2pvps.net -d www.dev.p2pvps.net" in site
    assert "--cert-name lt-dev.p2pvps.net --dns-digitalocean" in wildcard and "-d *.lt.dev.p2pvps.net" in wildcard
    for call in calls:
        assert "--keep-until-expiring" in call and "--staging" not in call and "--non-interactive" in call
    links = Path(sandbox["LETSENCRYPT_DIR"]) / "p2pvps"
    assert os.readlink(links / "site") == "../live/site-dev.p2pvps.net"
    assert os.readlink(links / "lt") == "../live/lt-dev.p2pvps.net"


def test_a_tunnel_domain_gets_the_wildcard_certificate(sandbox: dict[str, str]) -> None:
    code, calls = once(sandbox, P2PVPS_TUNNEL_DOMAIN="p2pvps-tunnels.net")
    assert code == 0
    site, wildcard = calls
    assert "-d dev.p2pvps.net -d www.dev.p2pvps.net" in site
    assert "--cert-name lt-p2pvps-tunnels.net " in wildcard
    assert "-d lt.p2pvps-tunnels.net -d *.lt.p2pvps-tunnels.net" in wildcard
    assert "dev.p2pvps.net" not in wildcard
    assert os.readlink(Path(sandbox["LETSENCRYPT_DIR"]) / "p2pvps" / "lt") == "../live/lt-p2pvps-tunnels.net"


def test_dns_token_is_written_only_to_a_private_credentials_file(sandbox: dict[str, str]) -> None:
    _, calls = once(sandbox)
    assert all("SENTINELSECRET" not in call for call in calls), "the token never appears in a command line"
    credentials = Path(sandbox["RUN_DIR"]) / "digitalocean.ini"
    assert credentials.read_text() == "dns_digitalocean_token = SENTINELSECRETtoken\n"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600


def test_staging_uses_the_staging_ca_and_its_own_lineage(sandbox: dict[str, str]) -> None:
    code, calls = once(sandbox, ACME_STAGING="true")
    assert code == 0
    assert all("--staging" in call for call in calls)
    assert os.readlink(Path(sandbox["LETSENCRYPT_DIR"]) / "p2pvps" / "site") == "../live/site-dev.p2pvps.net-staging"


def test_a_failed_issuance_fails_the_pass_and_keeps_the_previous_link(sandbox: dict[str, str]) -> None:
    assert once(sandbox)[0] == 0
    code, _ = once(sandbox, ACME_STAGING="true", FAIL_FOR="lt")
    assert code != 0
    links = Path(sandbox["LETSENCRYPT_DIR"]) / "p2pvps"
    assert os.readlink(links / "site") == "../live/site-dev.p2pvps.net-staging", "the lineage that was issued moves"
    assert os.readlink(links / "lt") == "../live/lt-dev.p2pvps.net", "the failed one keeps its previous link"


def test_health_check_follows_the_heartbeat(sandbox: dict[str, str]) -> None:
    check = [require("sh"), str(LOOP), "--check"]
    assert run(check, env=sandbox).returncode != 0, "no pass has run yet"
    once(sandbox)
    assert run(check, env=sandbox).returncode == 0
