"""Who reaches which ConnextCMS route through the live Nginx on loopback.

The site configuration is the one the program renders, with adminCidrs 127.0.0.1/32 and ::1/128;
127.0.0.2 and the other 127/8 addresses (all loopback on Linux) play outsiders. A stand-in for the
CMS records every request that reaches it.
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
from e2e_helpers import serving
from live_nginx import DOMAIN, RunningNginx, make_test_ca, running_nginx
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


@contextmanager
def site_with(workdir: Path, admin_cidrs: tuple[str, ...] = LOOPBACK_CIDRS) -> Iterator[Site]:
    """Nginx with the rendered configuration in front of a recording stand-in for the CMS."""
    cms = Cms()
    with (
        serving(cms.handler()) as cms.port,
        running_nginx(
            workdir / "nginx",
            make_test_ca(workdir / "tls"),
            cms_upstream=f"127.0.0.1:{cms.port}",
            localtunnel_upstream="127.0.0.1:9",
            admin_cidrs=admin_cidrs,
        ) as nginx,
    ):
        yield Site(nginx, cms, workdir)


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
    command = [
        require("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source,
        "--resolve", f"{DOMAIN}:{port}:127.0.0.1", "--cacert", str(site.nginx.ca),
        "-X", method, "-H", f"{MARK}: {mark}",
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
    ],
    ids=["sign-in", "sign-up", "password-reset"],
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


def test_public_bodies_are_small_admin_uploads_are_not(site: Site) -> None:
    big = b"x" * 200_000
    refused = request(site, OUTSIDER, "POST", "/contact", body=big)
    assert (refused.code, refused.reached) == (413, None)
    assert request(site, ADMIN, "POST", "/api/imageupload/create", body=big).code == 200


def test_admin_cidrs_decide_who_is_an_administrator(tmp_path: Path) -> None:
    """The same configuration rendered with another adminCidrs: now 127.0.0.2 is let in, 127.0.0.1 is not."""
    with site_with(tmp_path, admin_cidrs=("127.0.0.2/32",)) as other:
        assert request(other, "127.0.0.2", "GET", "/keystone").code == 200
        assert request(other, "127.0.0.1", "GET", "/keystone").code == 403
