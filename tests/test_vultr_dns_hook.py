"""compose/certbot/vultr-dns-hook.py against a local stand-in for the Vultr API v2 (loopback only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from components.catalog import COMPOSE_DIR
from e2e_helpers import serving
from tools import run

pytestmark = pytest.mark.unit

HOOK = COMPOSE_DIR / "certbot" / "vultr-dns-hook.py"


class FakeVultr:
    """Domains example.com and p2pvps.example.com (listed over two pages), records in memory."""

    def __init__(self) -> None:
        self.records: dict[str, list[dict[str, Any]]] = {"example.com": [], "p2pvps.example.com": []}
        self.authorizations: set[str] = set()

    def handle(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        route, _, query = path.partition("?")
        parts = route.strip("/").split("/")[1:]
        if parts == ["domains"]:
            page = [{"domain": "example.com"}] if "cursor=next" not in query else [{"domain": "p2pvps.example.com"}]
            cursor = "" if "cursor=next" in query else "next"
            return 200, {"domains": page, "meta": {"links": {"next": cursor}}}
        zone = parts[1]
        if len(parts) == 3 and method == "GET":
            return 200, {"records": self.records[zone], "meta": {"links": {"next": ""}}}
        if len(parts) == 3 and method == "POST":
            assert body is not None
            record = {"id": f"r{len(self.records[zone])}", **body}
            self.records[zone].append(record)
            return 201, {"record": record}
        self.records[zone] = [r for r in self.records[zone] if r["id"] != parts[3]]
        return 204, {}


@pytest.fixture
def api() -> Iterator[tuple[FakeVultr, str]]:
    fake = FakeVultr()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            fake.authorizations.add(self.headers.get("Authorization", ""))
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            status, payload = fake.handle(self.command, self.path, body)
            data = json.dumps(payload).encode() if status != 204 else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as port:
        yield fake, f"http://127.0.0.1:{port}/v2"


def hook(url: str, action: str, domain: str, validation: str, remaining: str = "1") -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "VULTR_API_URL": url,
        "VULTR_API_KEY": "SENTINELSECRETvultr",
        "CERTBOT_DOMAIN": domain,
        "CERTBOT_VALIDATION": validation,
        "CERTBOT_REMAINING_CHALLENGES": remaining,
        "VULTR_PROPAGATION_SECONDS": "0",
    }
    return run([sys.executable, str(HOOK), action], env=env)


def test_auth_adds_the_challenge_record_in_the_closest_zone_and_cleanup_removes_it(api: tuple[FakeVultr, str]) -> None:
    fake, url = api
    assert hook(url, "auth", "lt.p2pvps.example.com", "tokenA").returncode == 0
    assert hook(url, "auth", "lt.p2pvps.example.com", "tokenB", remaining="0").returncode == 0
    records = fake.records["p2pvps.example.com"]
    assert [(r["name"], r["type"], r["data"]) for r in records] == [
        ("_acme-challenge.lt", "TXT", '"tokenA"'),
        ("_acme-challenge.lt", "TXT", '"tokenB"'),
    ]
    assert fake.records["example.com"] == []
    assert fake.authorizations == {"Bearer SENTINELSECRETvultr"}
    assert hook(url, "cleanup", "lt.p2pvps.example.com", "tokenA").returncode == 0
    assert [r["data"] for r in fake.records["p2pvps.example.com"]] == ['"tokenB"']


def test_a_domain_outside_every_zone_fails_clearly(api: tuple[FakeVultr, str]) -> None:
    result = hook(api[1], "auth", "lt.elsewhere.net", "token")
    assert result.returncode != 0
    assert "no Vultr DNS domain holds lt.elsewhere.net" in result.stderr
