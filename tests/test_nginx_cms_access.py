"""Who reaches which ConnextCMS route through the live Nginx on loopback.

The site configuration is the one the program renders, with adminCidrs 127.0.0.1/32 and ::1/128;
127.0.0.2 and the other 127/8 addresses (all loopback on Linux) play outsiders, and IPv6 clients
are addresses of a network namespace the test makes. A stand-in for the CMS records every request
that reaches it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from components import cms_routes
from components.nginx import LOOPBACK_CIDRS
from e2e_helpers import nsenter, serving
from live_nginx import DOMAIN, RunningNginx, make_test_ca, network_namespace, running_nginx
from tools import require, run

pytestmark = pytest.mark.tools

ADMIN = "127.0.0.1"
OUTSIDER = "127.0.0.2"
RECORD = "5a1b2c3d4e5f60718293a4b5"
MARK = "X-Test-Request"


@dataclass
class Cms:
    """A stand-in for ConnextCMS: answers every request with 200 and records it by its test mark."""

    port: int = 0
    seen: dict[str, dict[str, str]] = field(default_factory=dict)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        cms = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                cms.seen[headers.get(MARK.lower(), "")] = {"method": self.command, "path": self.path, **headers}
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_HEAD = answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


@dataclass(frozen=True)
class Site:
    nginx: RunningNginx
    cms: Cms
    workdir: Path
    netns_pid: int | None = None


@contextmanager
def site_with(
    workdir: Path, admin_cidrs: tuple[str, ...] = LOOPBACK_CIDRS, netns_pid: int | None = None
) -> Iterator[Site]:
    """Nginx with the rendered configuration in front of a recording stand-in for the CMS; in
    `netns_pid`'s network namespace, listening on IPv6 loopback too, if given."""
    cms = Cms()
    with (
        serving(cms.handler(), netns_pid) as cms.port,
        running_nginx(
            workdir / "nginx",
            make_test_ca(workdir / "tls"),
            cms_upstream=f"127.0.0.1:{cms.port}",
            localtunnel_upstream="127.0.0.1:9",
            admin_cidrs=admin_cidrs,
            listen_addresses=("127.0.0.1",) if netns_pid is None else ("127.0.0.1", "[::1]"),
            netns_pid=netns_pid,
        ) as nginx,
    ):
        yield Site(nginx, cms, workdir, netns_pid)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with site_with(tmp_path_factory.mktemp("nginx-cms-access")) as running:
        yield running


@dataclass(frozen=True)
class Answer:
    code: int
    reached: dict[str, str] | None


def request(
    site: Site,
    source: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: tuple[str, ...] = (),
    as_is: bool = False,
) -> Answer:
    """One request from `source` through Nginx; what the CMS saw of it, if anything."""
    mark = uuid.uuid4().hex
    port = site.nginx.https_port
    loopback = "[::1]" if ":" in source else "127.0.0.1"
    command = [
        *(nsenter(site.netns_pid) if site.netns_pid else []),
        require("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source,
        "--resolve", f"{DOMAIN}:{port}:{loopback}", "--cacert", str(site.nginx.ca),
        "--globoff", "-X", method, "-H", f"{MARK}: {mark}",
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    if body is not None:
        payload = site.workdir / f"{mark}.body"
        payload.write_bytes(body)
        command += ["--data-binary", f"@{payload}"]
    if as_is:
        command.append("--path-as-is")
    result = run([*command, f"https://{DOMAIN}:{port}{path}"])
    assert result.returncode == 0, result.stderr
    return Answer(int(result.stdout), site.cms.seen.get(mark))


# Routes and paths that create, change or reveal users, settings, device login data, mail or
# content, the admin UI and the dashboard; the last three are spellings the CMS (case-insensitive,
# trailing slash optional) would still route to a protected handler.
PROTECTED = (
    ("GET", "/keystone"),
    ("GET", "/keystone/"),
    ("GET", "/keystone/users"),
    ("GET", "/keystone/api/users"),
    ("POST", f"/keystone/api/users/{RECORD}"),
    ("GET", "/keystone/js/admin.js"),
    ("GET", "/dashboard"),
    ("GET", "/edituser"),
    ("GET", "/test"),
    ("GET", "/api/users/list"),
    ("GET", f"/api/users/{RECORD}"),
    ("POST", f"/api/users/{RECORD}/update"),
    ("GET", f"/api/users/{RECORD}/remove"),
    ("GET", "/api/serversettings/getprivate"),
    ("GET", "/api/serversettings/saveprivate"),
    ("GET", "/api/serversettings/savepublic"),
    ("GET", f"/api/devicePrivateData/{RECORD}"),
    ("POST", f"/api/devicePrivateData/{RECORD}/update"),
    ("GET", f"/api/devicePrivateData/{RECORD}/remove"),
    ("GET", "/api/devicePublicData/list"),
    ("GET", "/api/email/send?email=victim@example.org&subject=x&body=y"),
    ("GET", "/api/email/sendlog"),
    ("GET", "/api/rentedDevices/list"),
    ("GET", f"/api/rentedDevices/add/{RECORD}"),
    ("GET", "/api/portcontrol/create"),
    ("GET", "/api/obContract/list"),
    ("POST", f"/api/obContract/{RECORD}/update"),
    ("GET", f"/api/ob/updateListing/{RECORD}"),
    ("POST", "/api/post/create"),
    ("POST", f"/api/page/{RECORD}/update"),
    ("POST", "/api/imageupload/create"),
    ("GET", "/api/plugins/list"),
    ("GET", "/API/users/list"),
    ("GET", "/api/users/list/"),
    ("POST", "/api/users/create/"),
)

# What visitors, signed-in users (the market app), devices and renters call.
PUBLIC = (
    ("GET", "/"),
    ("GET", "/blog"),
    ("GET", "/blog/news"),
    ("GET", "/blog/post/hello-world"),
    ("GET", "/gallery"),
    ("POST", "/contact"),
    ("GET", "/page/about"),
    ("GET", "/privatepage/members"),
    ("GET", "/createaccount"),
    ("GET", "/resetpassword"),
    ("GET", "/renew"),
    ("GET", "/market"),
    ("GET", "/favicon.ico"),
    ("GET", "/static/js/app.js"),
    ("GET", "/js/publicsettings.json"),
    ("GET", "/styles/site.css"),
    ("GET", "/uploads/images/logo.png"),
    ("GET", "/keystone/signin"),
    ("GET", "/keystone/signout"),
    ("GET", "/keystone/js/packages.js"),
    ("GET", "/keystone/js/signin.js"),
    ("GET", "/keystone/styles/keystone.min.css"),
    ("GET", "/keystone/images/logo.png"),
    ("GET", "/keystone/api/session"),
    ("POST", "/keystone/api/session/signout"),
    ("GET", "/api/page/list"),
    ("GET", "/api/pagesection/list"),
    ("GET", f"/api/post/{RECORD}"),
    ("GET", "/api/privatepage/list"),
    ("GET", "/api/getUserId"),
    ("GET", "/api/devicePublicData/listById"),
    ("GET", "/api/devicePrivateData/listById"),
    ("POST", "/api/devicePublicData/create"),
    ("POST", "/api/devicePrivateData/create"),
    ("POST", f"/api/devicePublicData/{RECORD}/update"),
    ("GET", f"/api/devicePublicData/{RECORD}/remove"),
    ("POST", "/api/obContract/create"),
    ("GET", f"/api/obContract/{RECORD}/remove"),
    ("GET", f"/api/ob/createMarketListing/{RECORD}"),
    ("GET", f"/api/ob/removeMarketListing/{RECORD}"),
    ("POST", f"/api/devicePublicData/{RECORD}/register"),
    ("GET", f"/api/devicePublicData/{RECORD}"),
    ("GET", f"/api/deviceCheckIn/{RECORD}"),
    ("GET", f"/api/getDeviceExpiration/{RECORD}"),
    ("GET", f"/api/rentedDevices/renew/{RECORD}"),
)


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_outsiders_are_refused_before_the_cms(site: Site, method: str, path: str) -> None:
    answer = request(site, OUTSIDER, method, path)
    assert (answer.code, answer.reached) == (403, None)


@pytest.mark.parametrize(("method", "path"), PROTECTED[:-3])
def test_admin_addresses_reach_the_cms(site: Site, method: str, path: str) -> None:
    answer = request(site, ADMIN, method, path)
    assert answer.code == 200
    assert answer.reached is not None and (answer.reached["method"], answer.reached["path"]) == (method, path)


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_routes_reach_the_cms_from_anywhere(site: Site, method: str, path: str) -> None:
    answer = request(site, OUTSIDER, method, path, body=b"a=1" if method == "POST" else None)
    assert answer.code == 200
    assert answer.reached is not None and answer.reached["path"] == path


@pytest.mark.parametrize(
    "path",
    [
        "/api/devicePublicData%2F..%2Fusers%2Flist",
        f"/api/devicePublicData/{RECORD}/%2e%2e/%2e%2e/users/list",
        f"/api/users/list/../../devicePublicData/{RECORD}",
        "/api/users/list/./",
        "/static/..%5Capi/users/list",
    ],
)
def test_paths_nginx_and_the_cms_could_read_differently_are_refused(site: Site, path: str) -> None:
    answer = request(site, OUTSIDER, "GET", path, as_is=True)
    assert (answer.code, answer.reached) == (400, None)


@pytest.mark.parametrize(
    "path",
    ["/api/devicePrivateData/listB%79Id", "/api/users/cr%65ate", "/api/p%61ge/list", "/keystone/sign%69n"],
)
def test_percent_encoded_paths_are_refused(site: Site, path: str) -> None:
    """Nginx matches the allow-list on the decoded path and passes the raw one on; the CMS (Express)
    routes the raw path and decodes only parameters. So `/api/devicePrivateData/listB%79Id` is the
    public `listById` to Nginx, and to the CMS the protected `/api/devicePrivateData/:id` route."""
    answer = request(site, OUTSIDER, "GET", path, as_is=True)
    assert (answer.code, answer.reached) == (400, None)


def test_percent_encoding_in_the_query_is_passed(site: Site) -> None:
    answer = request(site, OUTSIDER, "GET", "/api/page/list?title=a%20b")
    assert answer.reached is not None and answer.reached["path"] == "/api/page/list?title=a%20b"


# Ways to name the argument that makes KeystoneJS answer JSONP (each seen to work with Express 4.16):
# Express reads `callback[]` and `callback[0]` as a list and takes its first item, reads
# `[callback]` as `callback`, and decodes argument names.
JSONP_QUERIES = (
    "callback=steal",
    "a=1&callback=steal",
    "callback[]=steal",
    "[callback]=steal",
    "callback%5B0%5D=steal",
    "%63allback=steal",
    "c%61llback=steal",
)


@pytest.mark.parametrize("query", JSONP_QUERIES)
@pytest.mark.parametrize(
    ("source", "path"),
    [(OUTSIDER, "/api/getUserId"), (OUTSIDER, "/keystone/api/session"), (OUTSIDER, "/blog"),
     (ADMIN, "/api/users/list"), (ADMIN, "/keystone/api/users")],
)  # fmt: skip
def test_jsonp_requests_are_refused(site: Site, source: str, path: str, query: str) -> None:
    """A foreign page could load the answer as a script with a signed-in administrator's cookies."""
    answer = request(site, source, "GET", f"{path}?{query}")
    assert (answer.code, answer.reached) == (400, None)


def test_callback_as_a_value_is_passed(site: Site) -> None:
    assert request(site, OUTSIDER, "GET", "/api/page/list?sort=callback").code == 200


# Headers a browser sends with a request another site's page starts (a link, a form, an image, fetch).
STARTED_ELSEWHERE = (
    ("Sec-Fetch-Site: cross-site",),
    ("Sec-Fetch-Site: same-site",),
    ("Origin: https://evil.example",),
    ("Origin: null",),
    (f"Origin: https://mydevice.lt.{DOMAIN}",),
    ("Sec-Fetch-Site: cross-site", "Origin: https://evil.example"),
)


@pytest.mark.parametrize("headers", STARTED_ELSEWHERE)
@pytest.mark.parametrize(
    ("source", "method", "path"),
    [
        (ADMIN, "GET", f"/api/users/{RECORD}/update?isAdmin=true"),
        (ADMIN, "GET", f"/API/users/{RECORD}/update?isAdmin=true"),
        (ADMIN, "POST", f"/keystone/api/users/{RECORD}"),
        (OUTSIDER, "POST", "/api/devicePublicData/create"),
        (OUTSIDER, "POST", "/keystone/api/session/signout"),
    ],
)
def test_api_calls_other_sites_start_are_refused(
    site: Site, source: str, method: str, path: str, headers: tuple[str, ...]
) -> None:
    """CSRF: a page elsewhere makes a signed-in administrator's browser call the CMS's APIs."""
    answer = request(site, source, method, path, headers=headers)
    assert (answer.code, answer.reached) == (403, None)


@pytest.mark.parametrize(
    "headers",
    [(), ("Sec-Fetch-Site: same-origin", "Origin: {site}"), ("Origin: {www}",), ("Sec-Fetch-Site: none",)],
    ids=["no-header", "same-origin", "www-origin", "typed-address"],
)
def test_api_calls_from_the_site_itself_or_no_browser_are_passed(site: Site, headers: tuple[str, ...]) -> None:
    suffix = f":{site.nginx.https_port}"
    filled = tuple(h.format(site=f"https://{DOMAIN}{suffix}", www=f"https://www.{DOMAIN}{suffix}") for h in headers)
    path = f"/api/users/{RECORD}/update?isAdmin=true"
    answer = request(site, ADMIN, "GET", path, headers=filled)
    assert answer.reached is not None and answer.reached["path"] == path


def test_links_from_other_sites_to_pages_are_followed(site: Site) -> None:
    assert request(site, OUTSIDER, "GET", "/blog", headers=("Sec-Fetch-Site: cross-site",)).code == 200


def test_an_outsider_cannot_pose_as_a_service_of_the_stack(site: Site) -> None:
    token = f"{cms_routes.SERVICE_TOKEN_HEADER}: {'t' * 32}"
    answer = request(site, OUTSIDER, "GET", f"/api/devicePublicData/{RECORD}", headers=(token,))
    assert answer.reached is not None
    assert cms_routes.SERVICE_TOKEN_HEADER.lower() not in answer.reached


@pytest.mark.parametrize(
    ("source", "method", "path", "limit"),
    [
        ("127.0.0.11", "POST", "/keystone/api/session/signin", cms_routes.SIGN_IN),
        ("127.0.0.12", "POST", "/api/users/create", cms_routes.SIGN_UP),
        ("127.0.0.13", "GET", "/api/email/resetpassword?email=someone@example.org", cms_routes.PASSWORD_RESET),
        ("127.0.0.15", "POST", "/contact", cms_routes.CONTACT),
    ],
    ids=["sign-in", "sign-up", "password-reset", "contact"],
)
def test_account_requests_beyond_the_rate_get_429(
    site: Site, source: str, method: str, path: str, limit: cms_routes.RateLimit
) -> None:
    body = b"email=a@example.org&password=guess" if method == "POST" else None
    answers = [request(site, source, method, path, body=body) for _ in range(limit.burst + 4)]
    allowed = limit.burst + 1
    assert [a.code for a in answers] == [200] * allowed + [429] * 3
    assert all(a.reached is not None for a in answers[:allowed])
    assert all(a.reached is None for a in answers[allowed:])
    assert request(site, "127.0.0.14", method, path, body=body).code == 200, "other addresses are not limited"


def test_showing_the_contact_form_is_not_limited(site: Site) -> None:
    answers = [request(site, "127.0.0.16", "GET", "/contact") for _ in range(cms_routes.CONTACT.burst + 4)]
    assert [a.code for a in answers] == [200] * (cms_routes.CONTACT.burst + 4)


def test_contact_messages_are_smaller_than_other_public_bodies(site: Site) -> None:
    body = b"x" * 32_000
    assert request(site, "127.0.0.17", "POST", "/contact", body=body) == Answer(413, None)
    assert request(site, "127.0.0.17", "POST", "/api/devicePublicData/create", body=body).code == 200


# Addresses in the test's own network namespace: two of one /64, one of another.
IPV6_CLIENT, IPV6_SAME_64, IPV6_OTHER_64 = "2001:db8:0:1::10", "2001:db8:0:1:ffff::20", "2001:db8:0:2::10"


def test_ipv6_clients_are_limited_by_their_64(tmp_path: Path) -> None:
    """An attacker with a /64 (what one IPv6 subscriber gets) cannot escape a limit by changing address."""
    addresses = tuple(f"{address}/64" for address in (IPV6_CLIENT, IPV6_SAME_64, IPV6_OTHER_64))
    path, body, limit = "/keystone/api/session/signin", b"email=a@example.org&password=guess", cms_routes.SIGN_IN
    with network_namespace(tmp_path, addresses) as netns_pid, site_with(tmp_path, netns_pid=netns_pid) as site:
        first = [request(site, IPV6_CLIENT, "POST", path, body=body) for _ in range(limit.burst + 1)]
        assert [a.code for a in first] == [200] * (limit.burst + 1)
        assert all(a.reached is not None and a.reached["x-real-ip"] == IPV6_CLIENT for a in first)
        assert request(site, IPV6_SAME_64, "POST", path, body=body) == Answer(429, None), "same /64, same limit"
        assert request(site, IPV6_OTHER_64, "POST", path, body=body).code == 200, "another /64 is another client"


def test_public_bodies_are_small_admin_uploads_are_not(site: Site) -> None:
    big = b"x" * 200_000
    for path in ("/contact", "/api/devicePublicData/create"):
        refused = request(site, OUTSIDER, "POST", path, body=big)
        assert (refused.code, refused.reached) == (413, None), path
    assert request(site, ADMIN, "POST", "/api/imageupload/create", body=big).code == 200


def test_admin_cidrs_decide_who_is_an_administrator(tmp_path: Path) -> None:
    """The same configuration rendered with another adminCidrs: now 127.0.0.2 is let in, 127.0.0.1 is not."""
    with site_with(tmp_path, admin_cidrs=("127.0.0.2/32",)) as other:
        assert request(other, "127.0.0.2", "GET", "/keystone").code == 200
        assert request(other, "127.0.0.1", "GET", "/keystone").code == 403
