"""The rendered site configuration in a live Debian nginx on loopback: routing, headers, ACME, redirects,
HSTS, HTTP/2, websocket upgrade, and sslyze's check of the Mozilla "intermediate" TLS profile."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from components.nginx import NginxParams, render_site_config
from e2e_helpers import free_port, serving
from live_nginx import DOMAIN, RunningNginx, main_config, make_test_ca, nginx_serving, running_nginx
from tools import require, run

pytestmark = pytest.mark.tools


@dataclass
class Upstream:
    """A loopback stand-in for ConnextCMS or the LocalTunnel server that records what reaches it."""

    name: str
    port: int = 0
    requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def handler(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen = {"path": self.path, **{key.lower(): value for key, value in self.headers.items()}}
                upstream.requests.append(seen)
                if self.headers.get("Upgrade", "").lower() == "websocket":
                    self.send_response(101)
                    self.send_header("Upgrade", "websocket")
                    self.send_header("Connection", "Upgrade")
                    self.end_headers()
                    return
                body = json.dumps({"upstream": upstream.name, **seen}).encode()
                self.send_response(200)
                self.send_header("Set-Cookie", "this.sid=s%3Aabc; Path=/; HttpOnly")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class Site:
    nginx: RunningNginx
    cms: Upstream
    localtunnel: Upstream
    workdir: Path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    workdir = tmp_path_factory.mktemp("nginx-live")
    cms, localtunnel = Upstream("cms"), Upstream("localtunnel")
    tls = make_test_ca(workdir / "tls")
    with (
        serving(cms.handler()) as cms.port,
        serving(localtunnel.handler()) as localtunnel.port,
        running_nginx(
            workdir / "nginx", tls, cms_upstream=cms.address, localtunnel_upstream=localtunnel.address
        ) as nginx,
    ):
        yield Site(nginx, cms, localtunnel, workdir)


def curl(site: Site, host: str, path: str = "/", *, https: bool = True, extra: tuple[str, ...] = ()) -> dict[str, str]:
    """One request through nginx with the name resolved to loopback: status, HTTP version, headers, body."""
    port = site.nginx.https_port if https else site.nginx.http_port
    url = f"{'https' if https else 'http'}://{host}:{port}{path}"
    headers_file = site.workdir / "headers.txt"
    body_file = site.workdir / "body.txt"
    result = run(
        [
            require("curl"),
            "-s",
            "--resolve",
            f"{host}:{port}:127.0.0.1",
            "--cacert",
            str(site.nginx.ca),
            "-D",
            str(headers_file),
            "-o",
            str(body_file),
            "-w",
            "%{http_version} %{http_code}",
            *extra,
            url,
        ],
    )
    assert result.returncode == 0, result.stderr
    version, code = result.stdout.split()
    lines = headers_file.read_text().splitlines()[1:]
    headers = {
        name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines) if value
    }
    return {"version": version, "code": code, "body": body_file.read_text(), **headers}


@pytest.mark.parametrize("host", [DOMAIN, f"www.{DOMAIN}"])
def test_site_names_reach_the_cms_with_forwarding_headers(site: Site, host: str) -> None:
    response = curl(site, host, "/keystone/signin?x=1")
    assert response["code"] == "200"
    seen = json.loads(response["body"])
    assert seen["upstream"] == "cms"
    assert seen["path"] == "/keystone/signin?x=1"
    assert seen["host"] == host
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-host"] == host
    assert seen["x-real-ip"] == "127.0.0.1"


def test_cms_cookies_stay_host_only_https_only_and_same_site(site: Site) -> None:
    cookie = [attribute.strip().lower() for attribute in curl(site, DOMAIN)["set-cookie"].split(";")]
    assert cookie[0] == "this.sid=s%3aabc"
    assert {"path=/", "httponly", "secure", "samesite=strict"} <= set(cookie)
    assert not any(attribute.startswith("domain") for attribute in cookie)


def test_a_spoofed_forwarded_for_is_replaced(site: Site) -> None:
    seen = json.loads(curl(site, DOMAIN, extra=("-H", "X-Forwarded-For: 6.6.6.6"))["body"])
    assert seen["x-forwarded-for"] == "127.0.0.1"


@pytest.mark.parametrize("host", [f"lt.{DOMAIN}", f"mydevice.lt.{DOMAIN}"])
def test_localtunnel_names_reach_the_localtunnel_server_with_their_host(site: Site, host: str) -> None:
    seen = json.loads(curl(site, host)["body"])
    assert seen["upstream"] == "localtunnel"
    assert seen["host"] == host


def test_acme_challenges_are_served_over_plain_http(site: Site) -> None:
    (site.nginx.webroot / ".well-known" / "acme-challenge" / "tok3n").write_text("tok3n.thumbprint")
    response = curl(site, DOMAIN, "/.well-known/acme-challenge/tok3n", https=False)
    assert (response["code"], response["body"]) == ("200", "tok3n.thumbprint")
    assert curl(site, DOMAIN, "/.well-known/acme-challenge/missing", https=False)["code"] == "404"


@pytest.mark.parametrize("path", ["/", "/market/?q=1", "/.well-known/other"])
def test_every_other_http_request_is_redirected_to_https(site: Site, path: str) -> None:
    response = curl(site, f"www.{DOMAIN}", path, https=False)
    assert response["code"] == "301"
    assert response["location"] == f"https://www.{DOMAIN}:{site.nginx.https_port}{path}"


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", f"lt.{DOMAIN}.evil.example"])
def test_an_unknown_host_over_plain_http_gets_no_answer(site: Site, host: str) -> None:
    before = len(site.cms.requests)
    url = f"http://127.0.0.1:{site.nginx.http_port}/"
    result = run([require("curl"), "-s", "-o", "/dev/null", "-H", f"Host: {host}", url])
    assert result.returncode == 52, "curl: (52) Empty reply from server"
    assert len(site.cms.requests) == before


def test_the_health_probe_answers_on_loopback(site: Site) -> None:
    result = run([require("curl"), "-s", f"http://127.0.0.1:{site.nginx.http_port}/healthz"])
    assert result.stdout == "ok\n"


@pytest.mark.parametrize("server_name", ["evil.example", f"x.{DOMAIN}", None])
def test_an_unknown_tls_name_gets_no_certificate(site: Site, server_name: str | None) -> None:
    """The catch-all refuses the handshake (ssl_reject_handshake): no certificate of ours for another name."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", site.nginx.https_port)) as raw, pytest.raises(ssl.SSLError) as refused:
        context.wrap_socket(raw, server_hostname=server_name)
    assert "UNRECOGNIZED_NAME" in str(refused.value) or "HANDSHAKE_FAILURE" in str(refused.value)


@pytest.mark.parametrize(("http", "closed"), [("--http1.1", 52), ("--http2", 92)])
@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1", f"x.{DOMAIN}"])
def test_an_unknown_host_over_tls_made_for_our_name_gets_no_answer(
    site: Site, host: str, http: str, closed: int
) -> None:
    """TLS for the site's name (SNI), then a request for another name: the catch-all server takes it
    and closes the connection unanswered (444): no page, no Server header, nothing reaches the CMS.
    curl says "Empty reply from server" (52) over HTTP/1.1, a stream error (92) over HTTP/2."""
    before = len(site.cms.requests)
    port = site.nginx.https_port
    command = [
        require("curl"), "-s", http, "-o", "/dev/null", "-D", "-", "--resolve", f"{DOMAIN}:{port}:127.0.0.1",
        "--cacert", str(site.nginx.ca), "-H", f"Host: {host}", f"https://{DOMAIN}:{port}/",
    ]  # fmt: skip
    result = run(command)
    assert (result.returncode, result.stdout) == (closed, "")
    assert len(site.cms.requests) == before


def test_what_the_catch_all_cannot_close_unanswered_names_no_version(site: Site) -> None:
    """An unknown Host with an oversized header is answered by the catch-all (400), before any location."""
    context = ssl.create_default_context(cafile=str(site.nginx.ca))
    context.set_alpn_protocols(["http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", site.nginx.https_port)) as raw,
        context.wrap_socket(raw, server_hostname=DOMAIN) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: evil.example\r\nX-Big: {'a' * 9000}\r\n\r\n".encode())
        answer = b"".join(iter(lambda: tls.recv(4096), b"")).decode()
    assert answer.startswith("HTTP/1.1 400")
    assert "strict-transport-security" not in answer.lower(), "the catch-all answered, not the site"
    assert "nginx/" not in answer


IPV6_DRIVER = """\
ip link set lo up
nginx -p "$0" -e "$0/error.log" -c "$0/nginx.conf" >"$0/nginx.out" 2>&1 &
nginx=$!
for _ in $(seq 100); do
  curl -s -o /dev/null -H "Host: $3" "http://[::1]:$1/" && break
  sleep 0.1
done
echo "site over http: $(curl -s -o /dev/null -w '%{http_code}' -H "Host: $3" "http://[::1]:$1/")"
curl -s -o /dev/null -H "Host: evil.example" "http://[::1]:$1/"
echo "unknown over http: curl exit $?"
echo "site over https: $(curl -s -o /dev/null -w '%{http_code}' --cacert "$4" --resolve "$3:$2:[::1]" "https://$3:$2/")"
curl -s -o /dev/null -k --resolve "evil.example:$2:[::1]" "https://evil.example:$2/"
echo "unknown over https: curl exit $?"
kill "$nginx"
"""


def test_with_ipv6_every_server_answers_on_ipv6(tmp_path: Path) -> None:
    """The rendered listen lines for IPv6, run in a network namespace of the test's own (loopback only)."""
    tls = make_test_ca(tmp_path / "tls")
    http_port, https_port = free_port(), free_port()
    params = NginxParams(
        domain=DOMAIN,
        tunnel_domain=DOMAIN,
        http_port=http_port,
        https_port=https_port,
        listen_addresses=("127.0.0.1", "[::1]"),
        cms_upstream="127.0.0.1:9",
        localtunnel_upstream="127.0.0.1:9",
        acme_webroot=str(tmp_path / "acme"),
        site_tls=tls.site,
        localtunnel_tls=tls.localtunnel,
        resolver=None,
    )
    directory = tmp_path / "nginx"
    directory.mkdir()
    (directory / "site.conf").write_text(render_site_config(params))
    (directory / "nginx.conf").write_text(main_config(directory, directory / "site.conf"))
    driver = [require("unshare"), "-n", "sh", "-c", IPV6_DRIVER, str(directory)]
    result = run([*driver, str(http_port), str(https_port), DOMAIN, str(tls.ca)], timeout=60)
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert lines == {
        "site over http": "301",
        "unknown over http": "curl exit 52",
        "site over https": "502",
        "unknown over https": "curl exit 35",
    }, result.stdout + result.stderr


def test_https_answers_over_http2_with_hsts(site: Site) -> None:
    response = curl(site, DOMAIN, extra=("--http2",))
    assert response["version"] == "2"
    assert response["strict-transport-security"] == "max-age=63072000"
    assert response["x-content-type-options"] == "nosniff"
    assert "server" not in response or "/" not in response["server"], "no version in the Server header"


def websocket_handshake(site: Site, host: str, path: str) -> str:
    """The status line nginx answers a websocket handshake for `host` with."""
    context = ssl.create_default_context(cafile=str(site.nginx.ca))
    context.set_alpn_protocols(["http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", site.nginx.https_port)) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        tls.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        return tls.recv(4096).decode().splitlines()[0]


def test_websocket_upgrade_reaches_the_upstream(site: Site) -> None:
    assert websocket_handshake(site, f"mydevice.lt.{DOMAIN}", "/socket").startswith("HTTP/1.1 101")
    seen = site.localtunnel.requests[-1]
    assert (seen["upgrade"], seen["connection"].lower()) == ("websocket", "upgrade")


@pytest.mark.parametrize("path", ["/keystone/signin", "/"])
def test_no_protocol_switch_reaches_the_cms(site: Site, path: str) -> None:
    """The CMS has no websocket: a client cannot switch protocols through Nginx to KeystoneJS."""
    assert websocket_handshake(site, DOMAIN, path).startswith("HTTP/1.1 200")
    seen = site.cms.requests[-1]
    assert "upgrade" not in seen
    assert seen.get("connection", "").lower() == "close"


def sslyze(port: int, ca: Path) -> subprocess.CompletedProcess[str]:
    """sslyze's check against Mozilla's intermediate profile, for the server on a loopback port."""
    command = [
        require("sslyze"),
        "--mozilla_config=intermediate",
        f"--sni={DOMAIN}",
        f"--certinfo_ca_file={ca}",
        f"127.0.0.1:{port}",
    ]
    return run(command, timeout=300)


def test_sslyze_finds_the_mozilla_intermediate_profile(site: Site) -> None:
    result = sslyze(site.nginx.https_port, site.nginx.ca)
    assert result.returncode == 0, result.stdout[-4000:]
    assert f"127.0.0.1:{site.nginx.https_port}: OK - Compliant." in result.stdout


def test_sslyze_check_can_fail(tmp_path: Path) -> None:
    """Control: the same check refuses a server whose cipher list goes beyond the profile."""
    tls = make_test_ca(tmp_path / "tls")
    port = free_port()
    weak = (
        f"server {{\n  listen 127.0.0.1:{port} ssl;\n  ssl_certificate {tls.site.certificate};\n"
        f"  ssl_certificate_key {tls.site.key};\n  ssl_protocols TLSv1.2 TLSv1.3;\n"
        "  ssl_ciphers HIGH:!aNULL;\n  return 200;\n}\n"
    )
    with nginx_serving(tmp_path, weak, port):
        result = sslyze(port, tls.ca)
    assert result.returncode != 0
    assert f"127.0.0.1:{port}: FAILED - Not compliant." in result.stdout, result.stdout[-2000:]
