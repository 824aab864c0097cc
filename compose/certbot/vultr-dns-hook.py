#!/usr/bin/env python3
"""certbot manual DNS-01 hook for Vultr DNS (API v2): `auth` adds the challenge TXT record,
`cleanup` removes it. No certbot plugin for Vultr works with certbot 2+, so this stands in.

Environment: VULTR_API_KEY; CERTBOT_DOMAIN, CERTBOT_VALIDATION and CERTBOT_REMAINING_CHALLENGES
(set by certbot); VULTR_API_URL (default https://api.vultr.com/v2); VULTR_PROPAGATION_SECONDS
(default 60, waited once after the last record of a certificate).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

API = os.environ.get("VULTR_API_URL", "https://api.vultr.com/v2").rstrip("/")
TTL_SECONDS = 120


def call(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{API}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {os.environ['VULTR_API_KEY']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = response.read()
    return json.loads(payload) if payload else {}


def listed(path: str, key: str) -> list[dict[str, Any]]:
    """Every item of a paginated Vultr list."""
    items: list[dict[str, Any]] = []
    cursor = ""
    while True:
        query = urllib.parse.urlencode({"per_page": 500, **({"cursor": cursor} if cursor else {})})
        page = call("GET", f"{path}?{query}")
        items += page.get(key, [])
        cursor = page.get("meta", {}).get("links", {}).get("next", "")
        if not cursor:
            return items


def zone_of(domain: str) -> str:
    """The Vultr DNS domain that holds `domain`: the longest one it ends with."""
    zones = [zone["domain"] for zone in listed("/domains", "domains")]
    matches = [zone for zone in zones if domain == zone or domain.endswith(f".{zone}")]
    if not matches:
        sys.exit(f"vultr-dns-hook: no Vultr DNS domain holds {domain}")
    return max(matches, key=len)


def challenge_name(domain: str, zone: str) -> str:
    """The record name relative to its zone: _acme-challenge.lt for lt.example.com in example.com."""
    relative = domain[: -len(zone)].rstrip(".")
    return f"_acme-challenge.{relative}" if relative else "_acme-challenge"


def auth(domain: str, validation: str) -> None:
    zone = zone_of(domain)
    record = {"name": challenge_name(domain, zone), "type": "TXT", "data": f'"{validation}"', "ttl": TTL_SECONDS}
    call("POST", f"/domains/{zone}/records", record)
    if os.environ.get("CERTBOT_REMAINING_CHALLENGES", "0") == "0":
        time.sleep(int(os.environ.get("VULTR_PROPAGATION_SECONDS", "60")))


def cleanup(domain: str, validation: str) -> None:
    zone = zone_of(domain)
    name = challenge_name(domain, zone)
    for record in listed(f"/domains/{zone}/records", "records"):
        if record["type"] == "TXT" and record["name"] == name and record["data"].strip('"') == validation:
            call("DELETE", f"/domains/{zone}/records/{record['id']}")


def main() -> None:
    actions = {"auth": auth, "cleanup": cleanup}
    if len(sys.argv) != 2 or sys.argv[1] not in actions:
        sys.exit("usage: vultr-dns-hook.py auth|cleanup")
    actions[sys.argv[1]](os.environ["CERTBOT_DOMAIN"], os.environ["CERTBOT_VALIDATION"])


if __name__ == "__main__":
    main()
