"""The ConnextCMS image's own files (compose/connextcms): its Dockerfile and pins, its patch specs, the
config module, the entrypoint, the health check and the first-administrator update, run under Node against
temporary directories and loopback servers. What it shares with other images: app_images.py."""

from __future__ import annotations

import http.server
import json
import shutil
import stat
import subprocess
import textwrap
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from app_images import (
    CMS,
    SHARED,
    assert_dockerfile_policy,
    assert_lockfile_matches_package_json,
    assert_patches_require_by_correct_paths,
    assert_pins_documented_commits,
    assert_strict_executable_shell,
    base_env,
    cms_env,
    node,
    patch_finds,
    shell_scripts,
)
from e2e_helpers import free_port, serving
from tools import require, run

pytestmark = pytest.mark.tools


def test_dockerfile_policy() -> None:
    assert_dockerfile_policy(CMS)


def test_dockerfile_pins_the_documented_commits() -> None:
    assert_pins_documented_commits(CMS)


@pytest.mark.parametrize("script", shell_scripts(CMS), ids=lambda p: p.name)
def test_scripts_are_strict_executable_shell(script: Path) -> None:
    assert_strict_executable_shell(script)


def test_patch_specs_require_the_config_and_access_modules_by_a_correct_relative_path() -> None:
    # Where each patched upstream file ends up relative to the application root.
    layout = {"keystone/core/keystone.js": "keystone.js", "keystone/routes/": "routes/"}
    assert_patches_require_by_correct_paths(CMS / "patches/site-template.json", layout, "p2pvps-config", 10)


def test_patch_spec_covers_every_hard_coded_endpoint() -> None:
    finds = patch_finds(CMS / "patches/site-template.json")
    for needle in (
        "172.17.0.1:3500",
        "dockerconnextcmsp2pvps_openbazaar_1",
        "yourUsername",
        "yourPassword",
        "p2pvps.net/api",
        "chris.troutner@gmail.com",
        "6200",
        "'port': 3000",
    ):
        assert needle in finds, needle


def test_lockfile_of_the_extras_matches_their_package_json() -> None:
    assert_lockfile_matches_package_json(CMS / "extras", 2)


# --------------------------------------------------------------------------- ConnextCMS runtime config


def cms_config(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return node(str(CMS / "p2pvps-config.js"), *args, env=env)


def test_cms_config_accepts_the_contract() -> None:
    result = cms_config("check", env=cms_env())
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"PORT": "3001"}, "PORT must be 3000"),
        ({"MONGO_PASSWORD": ""}, "MONGO_PASSWORD is required"),
        ({"COOKIE_SECRET": "short"}, "COOKIE_SECRET"),
        ({"CMS_SERVICE_TOKEN": ""}, "CMS_SERVICE_TOKEN"),
        ({"CMS_SERVICE_TOKEN": "t" * 31}, "CMS_SERVICE_TOKEN"),
        ({"OB_URL": "http://openbazaar:4002/"}, "OB_URL"),
        ({"OB_USERNAME": "a:b"}, "OB_USERNAME"),
        ({"OB_PASSWORD": ""}, "OB_PASSWORD is required"),
        ({"SITE_DOMAIN": ""}, "SITE_DOMAIN"),
        ({"ADMIN_EMAIL": "not-an-address"}, "ADMIN_EMAIL"),
        ({"MONGO_DB": "conn/ext"}, "MONGO_DB"),
        ({"SSH_TUNNEL_PORTS": "6000-6200"}, "contains SSH_SERVER_PORT=6100"),
        ({"SSH_TUNNEL_PORTS": "6200-6101"}, "SSH_TUNNEL_PORTS"),
        ({"CMS_ADMIN_PASSWORD": "short"}, "CMS_ADMIN_PASSWORD"),
        ({"CLOUDINARY_URL": "https://api.cloudinary.com"}, "CLOUDINARY_URL"),
    ],
)
def test_cms_config_refuses_bad_values(overrides: dict[str, str], message: str) -> None:
    result = cms_config("check", env=cms_env(**overrides))
    assert result.returncode == 1
    assert message in result.stderr


def test_cms_mongo_uri_encodes_credentials_and_sets_auth_source() -> None:
    result = cms_config("mongo-uri", env=cms_env(MONGO_USER="cms user"))
    assert result.returncode == 0, result.stderr
    uri = urllib.parse.urlsplit(result.stdout)
    assert uri.scheme == "mongodb" and uri.hostname == "mongodb" and uri.port == 27017
    assert uri.path == "/connextcms"
    assert urllib.parse.unquote(uri.password or "") == "pa ss@w:o/rd%?#&"
    assert urllib.parse.unquote(uri.username or "") == "cms user"
    assert urllib.parse.parse_qs(uri.query) == {"authSource": ["connextcms"]}
    assert result.stdout.count("@") == 1 and "#" not in result.stdout


def test_cms_private_settings_merge(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps(
            {
                "keyNames": ["mailGunDomain"],
                "mailGunDomain": "",
                "mailGunApiKey": "",
                "adminEmail": "user@domain.com",
                "debugEmail": "user@domain.com",
            }
        )
    )
    target = tmp_path / "privatesettings.json"
    env = cms_env(MAILGUN_DOMAIN="mg.example.org", MAILGUN_API_KEY="key-123", ADMIN_EMAIL="ops@example.org")
    assert cms_config("private-settings", str(target), str(seed), env=env).returncode == 0
    written = json.loads(target.read_text())
    assert written["mailGunDomain"] == "mg.example.org" and written["mailGunApiKey"] == "key-123"
    assert written["adminEmail"] == "ops@example.org" and written["debugEmail"] == "user@domain.com"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # Unset variables keep what the dashboard saved; the file, not the seed, is the source now.
    written["debugEmail"] = "dash@example.org"
    target.write_text(json.dumps(written))
    assert cms_config("private-settings", str(target), str(seed), env=cms_env()).returncode == 0
    again = json.loads(target.read_text())
    assert again["debugEmail"] == "dash@example.org" and again["mailGunApiKey"] == "key-123"


# --------------------------------------------------------------------------- ConnextCMS entrypoint


@pytest.fixture
def cms_layout(tmp_path: Path) -> dict[str, Path]:
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(CMS / "p2pvps-config.js", app / "p2pvps-config.js")
    defaults = tmp_path / "defaults"
    defaults.mkdir()
    (defaults / "publicsettings.json").write_text(json.dumps({"superUsers": [], "adminUsers": []}))
    (defaults / "privatesettings.json").write_text(json.dumps({"mailGunDomain": "", "adminEmail": "x@y.zz"}))
    logs = tmp_path / "logs"
    logs.mkdir()
    return {"app": app, "defaults": defaults, "logs": logs, "data": tmp_path / "data"}


def run_cms_entrypoint(layout: dict[str, Path], command: list[str], **overrides: str) -> subprocess.Popen[str]:
    require("node")
    env = cms_env(**overrides) | {
        "P2PVPS_APP_DIR": str(layout["app"]),
        "P2PVPS_DATA_DIR": str(layout["data"]),
        "P2PVPS_LOG_DIR": str(layout["logs"]),
        "P2PVPS_DEFAULTS_DIR": str(layout["defaults"]),
    }
    return subprocess.Popen(
        ["sh", str(CMS / "entrypoint.sh"), *command], env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def test_cms_entrypoint_prepares_data_and_execs(cms_layout: dict[str, Path]) -> None:
    probe = 'printf "%s\\n%s\\n%s\\n%s\\n%s\\n" "$$" "$PWD" "$MONGO_URI" "$COOKIE_SECRET" "$CLOUDINARY_URL"'
    proc = run_cms_entrypoint(cms_layout, ["sh", "-c", probe], ADMIN_EMAIL="ops@example.org")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    pid, cwd, uri, cookie, cloudinary = out.splitlines()
    assert cloudinary == "cloudinary://unconfigured:unconfigured@unconfigured"
    assert int(pid) == proc.pid, "the command must replace the entrypoint (exec, PID 1 in the container)"
    assert cwd == str(cms_layout["app"])
    assert uri.startswith("mongodb://connextcms:") and uri.endswith("@mongodb:27017/connextcms?authSource=connextcms")
    assert cookie == "c" * 64
    data = cms_layout["data"]
    for sub in ("uploads/images", "uploads/files", "plugins", "settings"):
        assert (data / sub).is_dir()
    assert json.loads((data / "settings/privatesettings.json").read_text())["adminEmail"] == "ops@example.org"
    public = data / "settings/publicsettings.json"
    assert json.loads(public.read_text()) == {"superUsers": [], "adminUsers": []}
    # The dashboard's edits to publicsettings.json survive the next start.
    public.write_text(json.dumps({"superUsers": ["abc"], "adminUsers": []}))
    proc = run_cms_entrypoint(cms_layout, ["true"])
    proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert json.loads(public.read_text())["superUsers"] == ["abc"]


@pytest.mark.parametrize(
    ("overrides", "remove_logs"),
    [({"COOKIE_SECRET": ""}, False), ({"SITE_DOMAIN": "localhost"}, False), ({}, True)],
    ids=["no-cookie-secret", "bad-domain", "no-log-dir"],
)
def test_cms_entrypoint_refuses_to_start(
    cms_layout: dict[str, Path], overrides: dict[str, str], remove_logs: bool
) -> None:
    if remove_logs:
        cms_layout["logs"].rmdir()
    marker = cms_layout["app"].parent / "started"
    proc = run_cms_entrypoint(cms_layout, ["touch", str(marker)], **overrides)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert "p2pvps" in err
    assert not marker.exists()


# --------------------------------------------------------------------------- health check, first administrator


def answering_with(status: int) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler that answers every GET with `status`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.mark.parametrize(("status", "expected"), [(200, 0), (302, 0), (404, 0), (500, 1), (503, 1)])
def test_cms_healthcheck_http(status: int, expected: int) -> None:
    with serving(answering_with(status)) as port:
        result = node(str(CMS / "healthcheck.js"), env=base_env() | {"PORT": str(port)})
    assert result.returncode == expected, result.stdout


def test_cms_healthcheck_fails_when_nothing_listens() -> None:
    result = node(str(CMS / "healthcheck.js"), env=base_env() | {"PORT": str(free_port())})
    assert result.returncode == 1


FAKE_KEYSTONE = """
var saved = [], settings = {}, existing = JSON.parse(process.env.FAKE_EXISTING || 'null');
function Model(data) { this.data = data; this.id = '5a00000000000000000000a1'; }
Model.prototype.set = function (key, value) { this.data[key] = value; };
Model.prototype.save = function (cb) { saved.push(this.data); cb(null); };
Model.findOne = function (query) {
  return { exec: function (cb) { cb(null, existing && existing.email === query.email ? new Model(existing) : null); } };
};
module.exports = { list: function (name) { if (name !== 'User') throw new Error(name); return { model: Model }; },
                   set: function (key, value) { settings[key] = value; }, saved: saved, settings: settings };
"""
ADMIN_ID = "5a00000000000000000000a1"
FIRST_ADMIN = {"ADMIN_EMAIL": "ops@example.org", "CMS_ADMIN_PASSWORD": "a-long-password"}


def run_first_admin_update(
    tmp_path: Path, env: dict[str, str], source: Path = CMS / "updates/0.0.1-admins.js"
) -> dict[str, Any]:
    """The update `source` in the image's layout (app/updates/), with publicsettings.json a link into the
    data volume as assemble-cms.sh makes it, against a fake KeystoneJS."""
    modules = tmp_path / "node_modules/keystone"
    modules.mkdir(parents=True)
    (modules / "index.js").write_text(FAKE_KEYSTONE)
    (tmp_path / "app/updates").mkdir(parents=True)
    update = tmp_path / "app/updates/0.0.1-admins.js"
    shutil.copy(source, update)
    (tmp_path / "data").mkdir()
    seed = {"superUsers": [], "adminUsers": [], "privatePagesSection": "x"}
    (tmp_path / "data/publicsettings.json").write_text(json.dumps(seed))
    (tmp_path / "app/public/js").mkdir(parents=True)
    (tmp_path / "app/public/js/publicsettings.json").symlink_to(tmp_path / "data/publicsettings.json")
    script = textwrap.dedent(f"""
        var keystone = require('keystone');
        require({json.dumps(str(update))})(function (err) {{
          console.log(JSON.stringify({{error: err ? err.message : null, saved: keystone.saved,
                                       settings: keystone.settings}}));
        }});
    """)
    result = node("-e", script, env=base_env() | env | {"NODE_PATH": str(tmp_path / "node_modules")})
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert (tmp_path / "app/public/js/publicsettings.json").is_symlink()
    outcome["publicsettings"] = json.loads((tmp_path / "data/publicsettings.json").read_text())
    return outcome


@pytest.mark.parametrize(
    "env",
    [
        {"ADMIN_EMAIL": "ops@example.org"},
        {"CMS_ADMIN_PASSWORD": "a-long-password"},
        FIRST_ADMIN | {"CMS_ADMIN_PASSWORD": "short"},
    ],
    ids=["no-password", "no-email", "short-password"],
)
def test_first_admin_update_refuses_without_a_strong_password(tmp_path: Path, env: dict[str, str]) -> None:
    outcome = run_first_admin_update(tmp_path, env)
    assert outcome["saved"] == [] and "CMS_ADMIN_PASSWORD" in outcome["error"]
    assert outcome["publicsettings"]["superUsers"] == []


def test_first_admin_update_creates_the_administrator_of_keystone_and_of_the_dashboard(tmp_path: Path) -> None:
    outcome = run_first_admin_update(tmp_path, FIRST_ADMIN)
    assert outcome["error"] is None
    assert outcome["saved"] == [
        {
            "name": {"first": "Site", "last": "Administrator"},
            "email": "ops@example.org",
            "password": "a-long-password",
            "isAdmin": True,
        }
    ]
    assert outcome["publicsettings"] == {"superUsers": [ADMIN_ID], "adminUsers": [ADMIN_ID], "privatePagesSection": "x"}
    assert outcome["settings"] == {"superusers": [ADMIN_ID], "admins": [ADMIN_ID]}, "the running CMS knows it too"


def test_first_admin_update_after_a_half_done_start_promotes_the_account_it_made(tmp_path: Path) -> None:
    existing = {"email": "ops@example.org", "password": "old-hash"}
    outcome = run_first_admin_update(tmp_path, FIRST_ADMIN | {"FAKE_EXISTING": json.dumps(existing)})
    assert outcome["error"] is None
    assert outcome["saved"] == [{"email": "ops@example.org", "password": "a-long-password", "isAdmin": True}]
    assert outcome["publicsettings"]["superUsers"] == [ADMIN_ID]


# keystone4-compiled's own first update, as it behaves: the demo's administrator, password "admin".
UPSTREAM_ADMINS_UPDATE = """
var keystone = require('keystone');
module.exports = function (done) {
  var User = keystone.list('User');
  var demo = new User.model({ email: 'user@keystonejs.com', password: 'admin' });
  demo.set('isAdmin', true);
  demo.save(done);
};
"""
ORIGINAL_OPERATOR = "58b3f5b8e7a8a1001a6a2f11"


def assemble(tmp_path: Path) -> Path:
    """assemble-cms.sh on stand-ins for the pinned sources (only the files it needs, a demo .env and the
    demo's admin update in keystone4-compiled, the original operator in the template's publicsettings.json)
    and the image's own files; returns the output root."""
    k4, cms, site, dist, files = (tmp_path / name for name in ("keystone4", "connextcms", "site", "dist", "files"))
    for directory in (
        k4 / "node_modules/keystone/admin/server/templates",
        k4 / "node_modules/keystone/admin/server/routes",
        k4 / "node_modules/keystone/admin/server/app",
        k4 / "node_modules/keystone/admin/server/api/session",
        k4 / "models",
        k4 / "routes",
        k4 / "templates/views/helpers",
        k4 / "templates/views/layouts",
        k4 / "updates",
        k4 / "public/js",
        cms / "keystone-files",
        cms / "models",
        cms / "routes",
        site / "keystone/core",
        dist / "static",
    ):
        directory.mkdir(parents=True)
    (k4 / "node_modules/keystone/package.json").write_text('{"name": "keystone"}')
    (k4 / ".env").write_text("COOKIE_SECRET=demo-secret\n")
    (k4 / "updates/0.0.1-admins.js").write_text(UPSTREAM_ADMINS_UPDATE)
    for path in ("keystone-files/index.html", "keystone-files/index.js", "models/User.js", "routes/index.js"):
        (cms / path).write_text("")
    for name in ("keystone.js", "createDynamicRouter.js", "signin.js", "signout.js"):
        (site / "keystone/core" / name).write_text("")
    (site / "privatesettings.json").write_text("{}")
    operator = {"superUsers": [ORIGINAL_OPERATOR], "adminUsers": [ORIGINAL_OPERATOR], "privatePagesSection": "x"}
    (site / "publicsettings.json").write_text(json.dumps(operator))
    (dist / "index.html").write_text("")
    shutil.copytree(CMS / "updates", files / "updates")
    for source in (CMS / "p2pvps-config.js", CMS / "p2pvps-access.js", SHARED / "preload.js"):
        shutil.copy(source, files / source.name)
    out = tmp_path / "out"
    sources = (k4, cms, site, dist, files, out, tmp_path / "data", tmp_path / "logs")
    result = run(["sh", str(CMS / "assemble-cms.sh"), *map(str, sources)], env=base_env())
    assert result.returncode == 0, result.stderr
    return out


def test_the_assembled_cms_creates_no_demo_administrator(tmp_path: Path) -> None:
    """keystone4-compiled's first update (user@keystonejs.com, password "admin") is replaced by the image's:
    without ADMIN_EMAIL and CMS_ADMIN_PASSWORD the assembled update refuses, with them it makes that admin."""
    update = assemble(tmp_path / "image") / "app/updates/0.0.1-admins.js"
    refused = run_first_admin_update(tmp_path / "unset", {}, update)
    assert refused["saved"] == [] and "CMS_ADMIN_PASSWORD" in refused["error"]
    made = run_first_admin_update(tmp_path / "set", FIRST_ADMIN, update)
    assert [user["email"] for user in made["saved"]] == ["ops@example.org"]


def test_the_assembled_cms_keeps_no_demo_secret_and_no_original_administrator(tmp_path: Path) -> None:
    out = assemble(tmp_path)
    assert not (out / "app/.env").exists(), "dotenv would load the demo's COOKIE_SECRET"
    defaults = json.loads((out / "defaults/publicsettings.json").read_text())
    assert (defaults["superUsers"], defaults["adminUsers"]) == ([], [])
    assert ORIGINAL_OPERATOR not in (out / "defaults/publicsettings.json").read_text()
