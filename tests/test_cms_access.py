"""The CMS's own access rules: the pinned site template's route modules, patched as the image
build patches them, bound and called under Node with a stand-in for KeystoneJS.

The upstream files come from tests/fixtures/p2pvps-server (copies of the pinned commit); the real
compose/connextcms/p2pvps-access.js and p2pvps-config.js do the guarding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app_images import CMS, SHARED, cms_env, node
from components import dns
from tools import require, run

pytestmark = pytest.mark.tools

TESTS = Path(__file__).resolve().parent
PINNED = TESTS / "fixtures/p2pvps-server/site-template-connextcms"
HARNESS = TESTS / "cms_access"
SPEC = CMS / "patches/site-template.json"
SERVICE_TOKEN = "s" * 40
ENV = cms_env(CMS_SERVICE_TOKEN=SERVICE_TOKEN, ADMIN_EMAIL="ops@example.org") | {
    "NODE_PATH": str(HARNESS / "stand-ins")
}

ADMIN = "0000000000000000000000a1"
ALICE = "0000000000000000000000b1"
BOB = "0000000000000000000000b2"
MALLORY = "0000000000000000000000c1"
ALICE_DEVICE = "0000000000000000000000d1"
ALICE_LOGIN = "0000000000000000000000e1"
MALLORY_DEVICE = "0000000000000000000000d2"
MALLORY_LOGIN = "0000000000000000000000e2"

USERS = [
    {"_id": ADMIN, "email": "ops@example.org", "isAdmin": True, "password": "hash-a"},
    {"_id": ALICE, "email": "alice@example.org", "password": "hash-b"},
    {"_id": BOB, "email": "bob@example.org", "password": "hash-c"},
    {"_id": MALLORY, "email": "mallory@example.org", "password": "hash-d"},
]
DEVICES = {
    "User": USERS,
    "DevicePublicModel": [
        {"_id": ALICE_DEVICE, "ownerUser": ALICE, "privateData": ALICE_LOGIN},
        {"_id": MALLORY_DEVICE, "ownerUser": MALLORY, "privateData": MALLORY_LOGIN},
    ],
    "DevicePrivateModel": [
        {"_id": ALICE_LOGIN, "ownerUser": ALICE, "renterUser": BOB, "devicePassword": "alices-device-secret"},
        {"_id": MALLORY_LOGIN, "ownerUser": MALLORY, "devicePassword": "mallorys-device-secret"},
    ],
}


def stage_site(tmp_path: Path, spec: Path = SPEC) -> tuple[Path, int]:
    """The pinned files with every entry of `spec` that touches them applied; returns the tree and the count."""
    site = tmp_path / "site"
    shutil.copytree(PINNED, site)
    entries = [entry for entry in json.loads(spec.read_text()) if (site / entry["file"]).is_file()]
    filtered = tmp_path / "spec.json"
    filtered.write_text(json.dumps(entries))
    result = node(str(SHARED / "apply-patches.js"), str(filtered), str(site))
    assert result.returncode == 0, result.stderr
    return site, len(entries)


def assemble_app(tmp_path: Path, site: Path, *, mail: bool = False) -> Path:
    """The app tree as assemble-cms.sh lays it out, with stand-ins for what is not under test."""
    app = tmp_path / "app"
    shutil.copytree(site / "keystone/routes", app / "routes")
    shutil.copytree(HARNESS / "routes", app / "routes", dirs_exist_ok=True)
    for module in ("p2pvps-access.js", "p2pvps-config.js"):
        shutil.copy(CMS / module, app / module)
    (app / "private").mkdir()
    settings = {"mailGunDomain": "mg.example.org", "mailGunApiKey": "key"} if mail else {}
    (app / "private/privatesettings.json").write_text(json.dumps({"mailGunDomain": "", "mailGunApiKey": ""} | settings))
    return app


@pytest.fixture
def cms_app(tmp_path: Path) -> Path:
    site, applied = stage_site(tmp_path)
    assert applied >= 2, "the spec patches the route bindings and the sign-up page"
    return assemble_app(tmp_path, site)


def drive(
    app: Path,
    requests: list[dict[str, Any]],
    seed: dict[str, Any] | None = None,
    *,
    app_settings: dict[str, str] | None = None,
    env: dict[str, str] = ENV,
) -> dict[str, Any]:
    scenario = json.dumps(
        {
            "seed": seed if seed is not None else DEVICES,
            "settings": {"superusers": [ADMIN]},
            "app_settings": app_settings or {},
            "requests": requests,
        }
    )
    result = run([require("node"), str(HARNESS / "run.js"), str(app)], input=scenario, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def one(app: Path, request: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The answer to one request, and everything the run left behind."""
    outcome = drive(app, [request])
    return outcome["answers"][0], outcome


def by_id(outcome: dict[str, Any], list_name: str, record: str) -> dict[str, Any]:
    return next(doc for doc in outcome["records"][list_name] if doc["_id"] == record)


def test_every_bound_route_has_its_rule_and_the_rule_table_nothing_else(cms_app: Path) -> None:
    outcome = drive(cms_app, [])
    bound = {binding["key"] for binding in outcome["bindings"]}
    script = f"console.log(JSON.stringify(Object.keys(require({json.dumps(str(cms_app / 'p2pvps-access.js'))})"
    script += ".routeTable({api: {email: {}}}))))"
    rules = node("-e", script, env=ENV)
    assert rules.returncode == 0, rules.stderr
    assert bound == set(json.loads(rules.stdout))
    assert len(bound) == len(outcome["bindings"]) == 95


def bind_in_routes(app: Path, binding: str) -> None:
    """Adds `binding` to the route bindings of the app's routes/index.js."""
    index = app / "routes/index.js"
    index.write_text(index.read_text().replace("  // Views\n", f"  {binding}\n  // Views\n", 1))


def start(app: Path) -> subprocess.CompletedProcess[str]:
    return run([require("node"), str(HARNESS / "run.js"), str(app)], input="{}", env=ENV)


def test_a_route_without_a_rule_stops_the_cms(cms_app: Path) -> None:
    bind_in_routes(cms_app, "app.get('/api/new/thing', keystone.middleware.api, routes.api.x.y)")
    result = start(cms_app)
    assert result.returncode != 0
    assert "no access rule for get /api/new/thing" in result.stderr


@pytest.mark.parametrize(
    "binding",
    [
        "app.use('/api/users', keystone.middleware.api, routes.api.users.list)",
        "app.use(function (req, res, next) { next() })",
        "app.route('/api/users/list').get(keystone.middleware.api, routes.api.users.list)",
        "app.param('id', function (req, res, next) { next() })",
        "app.head('/api/users/list', keystone.middleware.api, routes.api.users.list)",
        "app.get('/api/users/list', keystone.middleware.api, routes.api.users.list, [])",
    ],
    ids=["use-under-api", "use-everywhere", "route", "param", "head", "handler-array"],
)
def test_a_binding_the_rules_cannot_see_stops_the_cms(cms_app: Path, binding: str) -> None:
    bind_in_routes(cms_app, binding)
    result = start(cms_app)
    assert result.returncode != 0
    assert "would not be guarded" in result.stderr


ADMIN_BROWSER = {"Sec-Fetch-Site": "same-origin", "Origin": "https://p2pvps.example.org"}


@pytest.mark.parametrize(
    ("url", "who", "private"),
    [
        ("/api/users/list?callback=steal", ADMIN, "ops@example.org"),
        (f"/api/devicePrivateData/{ALICE_LOGIN}?callback=steal", ALICE, "alices-device-secret"),
        ("/api/devicePrivateData/listById?callback=steal", ALICE, "alices-device-secret"),
    ],
    ids=["users", "device-login", "my-device-logins"],
)
def test_no_route_answers_jsonp(cms_app: Path, url: str, who: str, private: str) -> None:
    """A foreign page's <script src=...?callback=steal> (older browsers send no Sec-Fetch-Site)."""
    answer, outcome = one(cms_app, {"method": "GET", "url": url, "user": who})
    assert private not in json.dumps(answer) and "steal(" not in json.dumps(answer), answer
    assert answer["code"] == 400
    assert outcome["calls"] == []


def test_jsonp_under_the_apps_own_callback_name_is_refused_too(cms_app: Path) -> None:
    request = {"method": "GET", "url": "/api/getUserId?cb=steal"}
    outcome = drive(cms_app, [request], app_settings={"jsonp callback name": "cb"})
    assert outcome["answers"][0]["code"] == 400


def test_the_same_routes_answer_plain_json(cms_app: Path) -> None:
    answer, _ = one(cms_app, {"method": "GET", "url": "/api/users/list", "user": ADMIN, "headers": ADMIN_BROWSER})
    assert answer["code"] == 200 and "ops@example.org" in json.dumps(answer["body"])


FOREIGN = {
    "cross-site": {"Sec-Fetch-Site": "cross-site"},
    "same-site": {"Sec-Fetch-Site": "same-site"},
    "sibling-origin": {"Origin": "https://tunnel.p2pvps.example.org"},
    "foreign-origin": {"Origin": "https://evil.example"},
    "lookalike-origin": {"Origin": "https://p2pvps.example.org.evil.example"},
    "http-origin": {"Origin": "http://p2pvps.example.org"},
    "opaque-origin": {"Origin": "null"},
}


@pytest.mark.parametrize("headers", FOREIGN.values(), ids=FOREIGN.keys())
def test_another_site_cannot_make_an_administrator(cms_app: Path, headers: dict[str, str]) -> None:
    """GET /api/users/:id/update takes its fields from the query: an <img src> on a foreign page is enough."""
    request = {"method": "GET", "url": f"/api/users/{ALICE}/update?isAdmin=true", "user": ADMIN, "headers": headers}
    answer, outcome = one(cms_app, request)
    assert answer["code"] == 403
    assert "isAdmin" not in by_id(outcome, "User", ALICE)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", f"/api/users/{ALICE}/update"),
        ("POST", "/api/users/create"),
        ("POST", "/contact"),
        ("POST", f"/keystone/api/users/{ALICE}"),
        ("GET", "/keystone/api/users"),
        ("POST", "/keystone/api/session/signin"),
        ("GET", "/keystone/signout"),
        ("GET", "/KEYSTONE/SIGNOUT/"),
    ],
)
def test_cross_site_forms_and_api_calls_are_refused(cms_app: Path, method: str, url: str) -> None:
    body = {"isAdmin": "true", "email": "eve@example.org", "password": "a-long-password"}
    answer, outcome = one(
        cms_app, {"method": method, "url": url, "user": ADMIN, "body": body, "headers": FOREIGN["cross-site"]}
    )
    assert answer["code"] == 403
    assert outcome["calls"] == []
    assert len(outcome["records"]["User"]) == len(USERS) and "isAdmin" not in by_id(outcome, "User", ALICE)


@pytest.mark.parametrize(
    ("who", "request_"),
    [
        ("administrator", {"method": "POST", "url": f"/api/users/{ALICE}/update", "body": {"isAdmin": "true"},
                           "user": ADMIN, "headers": ADMIN_BROWSER}),
        ("administrator-typed-url", {"method": "GET", "url": f"/api/users/{ALICE}/update?isAdmin=true",
                                     "user": ADMIN, "headers": {"Sec-Fetch-Site": "none"}}),
        ("curl", {"method": "GET", "url": f"/api/users/{ALICE}/update?isAdmin=true", "user": ADMIN}),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)  # fmt: skip
def test_the_sites_own_pages_and_clients_without_browser_headers_still_change_users(
    cms_app: Path, who: str, request_: dict[str, Any]
) -> None:
    answer, outcome = one(cms_app, request_)
    assert answer["code"] == 200, who
    assert by_id(outcome, "User", ALICE)["isAdmin"] == "true"


@pytest.mark.parametrize("name", dns.site_hostnames("p2pvps.example.org"))
@pytest.mark.parametrize("site_domain", ["p2pvps.example.org", "P2PVPS.Example.org"])
def test_every_name_nginx_serves_the_site_on_is_its_own_origin(cms_app: Path, name: str, site_domain: str) -> None:
    request = {"method": "POST", "url": f"/api/users/{ALICE}/update", "body": {"isAdmin": "true"}, "user": ADMIN,
               "headers": {"Sec-Fetch-Site": "same-origin", "Origin": f"https://{name}"}}  # fmt: skip
    outcome = drive(cms_app, [request], env=ENV | {"SITE_DOMAIN": site_domain})
    assert outcome["answers"][0]["code"] == 200


@pytest.mark.parametrize(
    ("method", "url", "handler"),
    [
        ("POST", f"/api/devicePublicData/{ALICE_DEVICE}/register", "api/devicePublicData.register"),
        ("GET", f"/api/deviceCheckIn/{ALICE_DEVICE}", "api/devicePublicData.checkIn"),
        ("POST", "/keystone/api/session/signin", "keystone admin UI"),
    ],
    ids=["device-registers", "device-checks-in", "market-app-signs-in"],
)
def test_devices_and_the_market_app_still_reach_the_cms(cms_app: Path, method: str, url: str, handler: str) -> None:
    headers = ADMIN_BROWSER if handler == "keystone admin UI" else {}
    answer, outcome = one(cms_app, {"method": method, "url": url, "body": {"deviceName": "pi"}, "headers": headers})
    assert answer["code"] == 200
    assert [call["handler"] for call in outcome["calls"]] == [handler]


@pytest.mark.parametrize("url", ["/", "/keystone/signin", "/blog/post/news"])
def test_links_from_other_sites_still_open_pages(cms_app: Path, url: str) -> None:
    answer, _ = one(cms_app, {"method": "GET", "url": url, "headers": FOREIGN["cross-site"]})
    assert answer["code"] == 200


SIGN_UP = {"name": "Eve Example", "email": "eve@example.org", "password": "a-long-password"}


@pytest.mark.parametrize(
    "request_",
    [
        {"method": "POST", "url": "/api/users/create", "body": SIGN_UP | {"isAdmin": "true", "_id": ADMIN}},
        {
            "method": "PUT",
            "url": "/api/users/create?name=Eve&email=eve@example.org&password=a-long-password&isAdmin=true",
        },
        {"method": "POST", "url": "/api/users/create", "body": SIGN_UP | {"isAdmin": True}, "user": MALLORY},
    ],
    ids=["anonymous-body", "anonymous-query", "signed-in-user"],
)
def test_sign_up_cannot_make_an_administrator(cms_app: Path, request_: dict[str, Any]) -> None:
    answer, outcome = one(cms_app, request_)
    assert answer["code"] == 200, answer
    created = [doc for doc in outcome["records"]["User"] if doc["email"] == "eve@example.org"]
    assert len(created) == 1 and "isAdmin" not in created[0]
    assert by_id(outcome, "User", ADMIN)["email"] == "ops@example.org", "an existing account was not overwritten"
    assert answer["body"]["user"] == {"_id": created[0]["_id"], "email": "eve@example.org"}, "no password hash"


def test_sign_up_sends_the_welcome_mail_itself_to_the_new_address_only(cms_app: Path) -> None:
    answer, outcome = one(cms_app, {"method": "POST", "url": "/api/users/create", "body": SIGN_UP})
    mails = [call for call in outcome["calls"] if call["handler"] == "api/email.send"]
    assert len(mails) == 1 and answer["body"]["welcomeMail"] is True
    mail = mails[0]["body"]
    assert (mail["email"], mail["from"]) == ("eve@example.org", "ops@example.org")
    assert "https://p2pvps.example.org/keystone/signin" in mail["body"]


@pytest.mark.parametrize(
    ("email", "code"),
    [("ALICE@example.org", 409), ("eve@example.org,victim@example.net", 400), ("", 400)],
    ids=["registered", "two-addresses", "none"],
)
def test_sign_up_takes_one_new_address(cms_app: Path, email: str, code: int) -> None:
    answer, outcome = one(cms_app, {"method": "POST", "url": "/api/users/create", "body": SIGN_UP | {"email": email}})
    assert answer["code"] == code
    assert len(outcome["records"]["User"]) == len(USERS)
    assert outcome["calls"] == []


def test_administrators_create_users_with_every_field(cms_app: Path) -> None:
    body = SIGN_UP | {"isAdmin": "true"}
    answer, outcome = one(cms_app, {"method": "POST", "url": "/api/users/create", "body": body, "user": ADMIN})
    assert answer["code"] == 200
    assert next(doc for doc in outcome["records"]["User"] if doc["email"] == "eve@example.org")["isAdmin"] == "true"


# Routes that create, change or reveal users, settings, mail or content, or that only the
# dashboard uses. The users routes run the real upstream handlers (update and remove call
# req.user.get and threw for anonymous callers); the others reach stubs that record the call.
ADMIN_ROUTES = [
    ("GET", "/api/users/list"),
    ("GET", f"/api/users/{ALICE}"),
    ("POST", f"/api/users/{ALICE}/update"),
    ("GET", f"/api/users/{ALICE}/remove"),
    ("GET", "/api/serversettings/getprivate"),
    ("GET", "/api/serversettings/saveprivate?mailGunDomain=evil.example"),
    ("GET", "/api/serversettings/savepublic?superUsers=x"),
    ("GET", "/api/email/send?email=victim@example.net&subject=s&body=b"),
    ("GET", "/api/email/sendlog"),
    ("POST", "/api/post/create"),
    ("POST", "/api/imageupload/create"),
    ("GET", "/api/plugins/list"),
    ("GET", "/api/devicePublicData/list"),
    ("GET", "/api/obContract/list"),
]


@pytest.mark.parametrize(("method", "url"), ADMIN_ROUTES)
@pytest.mark.parametrize(
    ("who", "code"), [(None, 401), (ALICE, 403), (ADMIN, 200)], ids=["anonymous", "user", "administrator"]
)
def test_admin_routes_answer_only_an_administrators_session(
    cms_app: Path, method: str, url: str, who: str | None, code: int
) -> None:
    answer, outcome = one(cms_app, {"method": method, "url": url, "user": who})
    assert answer["code"] == code, answer
    if who != ADMIN:
        assert outcome["calls"] == []
        assert by_id(outcome, "User", ALICE)["email"] == "alice@example.org"


def test_an_administrator_lists_users_without_password_hashes(cms_app: Path) -> None:
    answer, _ = one(cms_app, {"method": "GET", "url": "/api/users/list", "user": ADMIN})
    assert answer["code"] == 200
    assert {user["email"] for user in answer["body"]["user"]} == {user["email"] for user in USERS}
    assert {user["password"] for user in answer["body"]["user"]} == {""}


@pytest.mark.parametrize(
    ("url", "who", "code"),
    [("/dashboard", None, 302), ("/dashboard", ALICE, 403), ("/edituser", ALICE, 403), ("/market", None, 302)],
)
def test_pages_for_administrators_and_users(cms_app: Path, url: str, who: str | None, code: int) -> None:
    answer, outcome = one(cms_app, {"method": "GET", "url": url, "user": who})
    assert answer["code"] == code
    if code == 302:
        assert answer["location"] == "/keystone/signin"
    assert outcome["calls"] == []


@pytest.mark.parametrize(
    ("who", "shown"),
    [(ALICE, True), (BOB, True), (ADMIN, True), (MALLORY, False), (None, False)],
    ids=["owner", "renter", "administrator", "another-user", "anonymous"],
)
def test_device_login_data_only_for_its_owner_renter_and_administrators(
    cms_app: Path, who: str | None, shown: bool
) -> None:
    answer, _ = one(cms_app, {"method": "GET", "url": f"/api/devicePrivateData/{ALICE_LOGIN}", "user": who})
    assert ("alices-device-secret" in json.dumps(answer)) is shown
    assert answer["code"] == (200 if shown else 403 if who else 401)


@pytest.mark.parametrize(
    ("headers", "remote", "shown"),
    [
        ({"X-P2PVPS-Service-Token": SERVICE_TOKEN}, "172.18.0.7", True),
        ({}, "127.0.0.1", True),
        ({"X-P2PVPS-Service-Token": "s" * 39 + "t"}, "172.18.0.7", False),
        ({}, "172.18.0.7", False),
    ],
    ids=["listing-manager", "the-cms-itself", "wrong-token", "no-token"],
)
def test_services_of_the_stack_read_device_login_data_and_rentals(
    cms_app: Path, headers: dict[str, str], remote: str, shown: bool
) -> None:
    outcome = drive(
        cms_app,
        [
            {"method": "GET", "url": f"/api/devicePrivateData/{ALICE_LOGIN}", "headers": headers, "remote": remote},
            {"method": "GET", "url": "/api/rentedDevices/list", "headers": headers, "remote": remote},
        ],
    )
    login, rentals = outcome["answers"]
    assert ("alices-device-secret" in json.dumps(login)) is shown
    assert (rentals["code"] == 200) is shown
    assert any(call["handler"] == "api/rentedDevices.list" for call in outcome["calls"]) is shown


def test_a_user_lists_only_the_device_login_data_of_their_own_devices(cms_app: Path) -> None:
    answer, _ = one(cms_app, {"method": "GET", "url": "/api/devicePrivateData/listById", "user": MALLORY})
    assert "mallorys-device-secret" in json.dumps(answer)
    assert "alices-device-secret" not in json.dumps(answer)


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/api/devicePrivateData/create", {"publicData": ALICE_DEVICE}),
        (f"/api/devicePublicData/{MALLORY_DEVICE}/update", {"privateData": ALICE_LOGIN}),
        (f"/api/devicePublicData/{ALICE_DEVICE}/update", {"deviceName": "mine now"}),
        ("/api/obContract/create", {"clientDevice": ALICE_DEVICE, "price": "0.01"}),
        (f"/api/devicePublicData/{ALICE_DEVICE}/remove", {}),
    ],
    ids=["private-data-for-anothers-device", "relink-anothers-login", "anothers-device", "sell-anothers-device",
         "remove-anothers-device"],
)  # fmt: skip
def test_a_user_cannot_take_over_another_users_device(cms_app: Path, url: str, body: dict[str, str]) -> None:
    answer, outcome = one(cms_app, {"method": "POST" if body else "GET", "url": url, "body": body, "user": MALLORY})
    assert answer["code"] == 403
    assert outcome["calls"] == []
    assert len(outcome["records"]["DevicePrivateModel"]) == len(DEVICES["DevicePrivateModel"])


def test_a_user_writes_only_the_fields_of_their_own_records(cms_app: Path) -> None:
    body = {"deviceName": "pi", "ownerUser": ALICE, "devicePassword": "x", "moneyOwed": "0"}
    outcome = drive(
        cms_app,
        [
            {"method": "POST", "url": "/api/devicePrivateData/create", "user": MALLORY,
             "body": body | {"publicData": MALLORY_DEVICE}},
            {"method": "POST", "url": "/api/devicePublicData/create", "user": MALLORY, "body": body},
        ],
    )  # fmt: skip
    assert [answer["code"] for answer in outcome["answers"]] == [200, 200]
    created = [
        doc for doc in outcome["records"]["DevicePrivateModel"] if doc["_id"] not in (ALICE_LOGIN, MALLORY_LOGIN)
    ]
    assert created == [
        {"publicData": MALLORY_DEVICE, "ownerUser": MALLORY, "_id": created[0]["_id"], "id": created[0]["_id"]}
    ]
    (call,) = [call for call in outcome["calls"] if call["handler"] == "api/devicePublicData.create"]
    assert call["body"] == {"deviceName": "pi", "ownerUser": MALLORY}


@pytest.mark.parametrize(
    ("mail", "url", "code"),
    [
        (False, "/api/email/resetpassword?email=ops@example.org", 503),
        (True, "/api/email/resetpassword", 400),
        (True, "/api/email/resetpassword?email=ops@example.org", 200),
    ],
    ids=["no-mail-configured", "no-address", "mail-configured"],
)
def test_password_reset_only_when_the_new_password_can_be_mailed(
    tmp_path: Path, mail: bool, url: str, code: int
) -> None:
    site, _ = stage_site(tmp_path)
    answer, outcome = one(assemble_app(tmp_path, site, mail=mail), {"method": "GET", "url": url})
    assert answer["code"] == code
    assert any(call["handler"] == "api/email.resetpassword" for call in outcome["calls"]) is (code == 200)


def test_the_sign_up_page_no_longer_sends_mail_from_the_browser(tmp_path: Path) -> None:
    site, _ = stage_site(tmp_path)
    page = (site / "keystone/templates/views/createaccount.hbs").read_text()
    assert "$.get('/api/email/send'" not in page and "chris.troutner" not in page
    assert "data.welcomeMail" in page
