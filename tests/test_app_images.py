"""Build contexts of the application images: compose/connextcms, compose/listing-manager, compose/openbazaar.

No registry is reachable here, so the images are not built. The scripts and Node modules that end up in
them run here against temporary directories, fake upstream binaries and loopback servers (hadolint and
shellcheck run over every build context in test_artefact_lint).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import textwrap
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from components.catalog import COMPOSE_DIR
from e2e_helpers import free_port, serving
from tools import require, run

pytestmark = pytest.mark.tools

CMS = COMPOSE_DIR / "connextcms"
LM = COMPOSE_DIR / "listing-manager"
OB = COMPOSE_DIR / "openbazaar"
SHARED = COMPOSE_DIR / "shared"
CONTEXTS = (CMS, LM, OB)

VALID_HASH = hashlib.sha256(b"correct horse battery staple").hexdigest()


# --------------------------------------------------------------------------- helpers


def node(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run([require("node"), *args], env=env, cwd=cwd)


def dockerfile_stages(path: Path) -> list[list[str]]:
    """Instructions (continuation lines joined) grouped by build stage."""
    stages: list[list[str]] = []
    text = re.sub(r"\\\n", " ", path.read_text())
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(stripped)
    return stages


def base_env() -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}


def cms_env(**overrides: str) -> dict[str, str]:
    env = base_env() | {
        "PORT": "3000",
        "MONGO_HOST": "mongodb",
        "MONGO_PORT": "27017",
        "MONGO_DB": "connextcms",
        "MONGO_USER": "connextcms",
        "MONGO_PASSWORD": "pa ss@w:o/rd%?#&",
        "COOKIE_SECRET": "c" * 64,
        "CMS_SERVICE_TOKEN": "t" * 32,
        "OB_URL": "http://openbazaar:4002",
        "OB_USERNAME": "p2pvps",
        "OB_PASSWORD": "ob-secret",
        "SITE_DOMAIN": "p2pvps.example.org",
    }
    env.update(overrides)
    return env


def lm_env(**overrides: str) -> dict[str, str]:
    env = base_env() | {
        "SERVER_URL": "http://connextcms:3000",
        "OB_URL": "http://openbazaar:4002",
        "OB_USERNAME": "p2pvps",
        "OB_PASSWORD": "ob-secret",
        "P2PVPS_HOST": "p2pvps.example.org",
        "CMS_SERVICE_TOKEN": "t" * 32,
    }
    env.update(overrides)
    return env


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


# --------------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("context", CONTEXTS, ids=lambda p: p.name)
def test_dockerfile_policy(context: Path) -> None:
    dockerfile = context / "Dockerfile"
    stages = dockerfile_stages(dockerfile)
    assert stages, "no FROM"
    args = {m.group(1): m.group(2) for m in re.finditer(r"^ARG (\w+)=(\S+)$", dockerfile.read_text(), re.MULTILINE)}
    for stage in stages:
        image = stage[0].split()[1]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        _name, _, tag = image.partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{image}: base must be pinned to a version tag"
        for instruction in stage:
            if instruction.startswith("RUN") and "apt-get install" in instruction:
                assert "--no-install-recommends" in instruction
                assert "rm -rf /var/lib/apt/lists/*" in instruction
    final = stages[-1]
    users = [i for i in final if i.startswith("USER ")]
    assert users and users[-1] in {"USER 1000:1000", "USER 1000"}, "final stage must run as uid 1000"
    assert "HEALTHCHECK" in " ".join(final)
    healthcheck = next(i for i in final if i.startswith("HEALTHCHECK"))
    assert healthcheck == 'HEALTHCHECK CMD ["/usr/local/bin/p2pvps-healthcheck"]', "timings belong to the catalog"


def test_dockerfiles_pin_the_documented_commits() -> None:
    for context in (CMS, LM):
        text = (context / "Dockerfile").read_text()
        readme = (context / "README.md").read_text()
        commits = re.findall(r"^ARG \w+_COMMIT=([0-9a-f]+)$", text, re.MULTILINE)
        assert commits, f"{context.name}: no pinned commit"
        for commit in commits:
            assert len(commit) == 40, f"{commit} is not a full SHA-1"
            assert commit in readme, f"{context.name}/README.md does not name {commit}"
        instructions = " ".join(i for stage in dockerfile_stages(context / "Dockerfile") for i in stage)
        assert "git clone" not in instructions and "master" not in instructions, "never a moving branch"
    assert "openbazaar/server:v0.12.4" in (OB / "Dockerfile").read_text()
    assert "0f6431375be3567060555484f95e424711997a91" in (OB / "README.md").read_text()


# --------------------------------------------------------------------------- shell scripts


def shell_scripts() -> list[Path]:
    scripts = [p for context in (*CONTEXTS, SHARED) for p in sorted(context.glob("*.sh"))]
    assert len(scripts) >= 5
    return scripts


@pytest.mark.parametrize("script", shell_scripts(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_scripts_are_strict_executable_shell(script: Path) -> None:
    """(shellcheck runs on every script of the repository in test_artefact_lint.)"""
    text = script.read_text()
    assert text.splitlines()[0] in {"#!/bin/sh", "#!/bin/bash"}
    assert "set -eu" in text
    assert script.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"


# --------------------------------------------------------------------------- fetch-pinned.sh


@pytest.fixture
def git_fixture(tmp_path: Path) -> tuple[Path, str, str]:
    git = require("git")
    repo = tmp_path / "upstream"
    repo.mkdir()
    env = base_env() | {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "HOME": str(tmp_path),
    }

    def g(*args: str) -> str:
        result = run([git, "-C", str(repo), *args], env=env)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    g("init", "-q", "-b", "master")
    g("config", "uploadpack.allowReachableSHA1InWant", "true")
    (repo / "file.txt").write_text("one\n")
    g("add", "file.txt")
    g("commit", "-q", "-m", "one")
    first = g("rev-parse", "HEAD")
    (repo / "file.txt").write_text("two\n")
    g("commit", "-q", "-am", "two")
    second = g("rev-parse", "HEAD")
    return repo, first, second


def fetch_pinned(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    require("git")
    return run(["sh", str(SHARED / "fetch-pinned.sh"), *args], env=base_env() | {"HOME": str(home)})


def test_fetch_pinned_checks_out_exactly_the_pinned_commit(git_fixture: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, first, _second = git_fixture
    dest = tmp_path / "src"
    result = fetch_pinned(f"file://{repo}", first, str(dest), home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (dest / "file.txt").read_text() == "one\n", "must be the pinned commit, not the branch head"
    assert not (dest / ".git").exists()


@pytest.mark.parametrize("commit", ["master", "abc123", "G" * 40, "A" * 40, ""])
def test_fetch_pinned_refuses_names_and_short_ids(
    commit: str, git_fixture: tuple[Path, str, str], tmp_path: Path
) -> None:
    repo, _first, _second = git_fixture
    result = fetch_pinned(f"file://{repo}", commit, str(tmp_path / "src"), home=tmp_path)
    assert result.returncode == 2
    assert not (tmp_path / "src").exists()


def test_fetch_pinned_fails_on_unknown_commit(git_fixture: tuple[Path, str, str], tmp_path: Path) -> None:
    repo, _first, _second = git_fixture
    result = fetch_pinned(f"file://{repo}", "0" * 40, str(tmp_path / "src"), home=tmp_path)
    assert result.returncode != 0


# --------------------------------------------------------------------------- apply-patches.js


def write_spec(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps(entries))
    return path


def test_apply_patches_replaces_exact_counts(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("var host = 'old:4002'; var again = 'old:4002';\nvar user = 'u';\n")
    spec = write_spec(
        tmp_path / "spec.json",
        [
            {"file": "a.js", "find": "'old:4002'", "replace": "env.OB", "count": 2, "why": "x"},
            {"file": "a.js", "find": "var user = 'u';", "replace": "var user = env.U;", "count": 1, "why": "y"},
        ],
    )
    result = node(str(SHARED / "apply-patches.js"), str(spec), str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "a.js").read_text() == "var host = env.OB; var again = env.OB;\nvar user = env.U;\n"


@pytest.mark.parametrize(
    "entry",
    [
        {"file": "a.js", "find": "'old:4002'", "replace": "x", "count": 1, "why": "count differs"},
        {"file": "a.js", "find": "absent", "replace": "x", "count": 1, "why": "anchor gone"},
        {"file": "missing.js", "find": "a", "replace": "x", "count": 1, "why": "no file"},
        {"file": "a.js", "find": "'old:4002'", "replace": "x", "count": 2},
    ],
    ids=["count", "anchor", "file", "no-why"],
)
def test_apply_patches_fails_without_touching_files(entry: dict[str, object], tmp_path: Path) -> None:
    original = "var host = 'old:4002'; var again = 'old:4002';\n"
    (tmp_path / "a.js").write_text(original)
    good = {"file": "a.js", "find": "var host", "replace": "let host", "count": 1, "why": "ok"}
    spec = write_spec(tmp_path / "spec.json", [good, entry])
    result = node(str(SHARED / "apply-patches.js"), str(spec), str(tmp_path))
    assert result.returncode == 1
    assert "patches not applied" in result.stderr
    assert (tmp_path / "a.js").read_text() == original


# Where each patched upstream file ends up relative to the application root.
CMS_SPEC_LAYOUT = {"keystone/core/keystone.js": "keystone.js", "keystone/routes/": "routes/"}
LM_SPEC_LAYOUT = {"": ""}


@pytest.mark.parametrize(
    ("spec_path", "layout", "module", "minimum"),
    [
        (CMS / "patches/site-template.json", CMS_SPEC_LAYOUT, "p2pvps-config", 10),
        (LM / "patches/listing-manager.json", LM_SPEC_LAYOUT, "lib/p2pvps-config.js", 2),
    ],
    ids=["connextcms", "listing-manager"],
)
def test_patch_specs_require_the_config_and_access_modules_by_a_correct_relative_path(
    spec_path: Path, layout: dict[str, str], module: str, minimum: int
) -> None:
    spec = json.loads(spec_path.read_text())
    checked = 0
    for entry in spec:
        assert set(entry) == {"file", "find", "replace", "count", "why"} and entry["why"]
        for rel, name in re.findall(
            r"require\(['\"]([^'\"]*(p2pvps-(?:config|access))[^'\"]*)['\"]\)", entry["replace"]
        ):
            app_file = entry["file"]
            for prefix, target in layout.items():
                if app_file.startswith(prefix):
                    app_file = target + app_file[len(prefix) :]
                    break
            resolved = os.path.normpath(os.path.join(os.path.dirname(app_file), rel))
            assert resolved == module.replace("p2pvps-config", name), f"{entry['file']}: {rel} resolves to {resolved}"
            checked += 1
    assert checked >= minimum


def test_cms_patch_spec_covers_every_hard_coded_endpoint() -> None:
    finds = " ".join(e["find"] for e in json.loads((CMS / "patches/site-template.json").read_text()))
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
    finds = " ".join(e["find"] for e in json.loads((LM / "patches/listing-manager.json").read_text()))
    for needle in ("yourUsername", "yourPassword", "http://p2pvps.net", "Host: p2pvps.net", "getOBAuth"):
        assert needle in finds, needle


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


# --------------------------------------------------------------------------- ConnextCMS helpers


@pytest.mark.parametrize(("status", "expected"), [(200, 0), (302, 0), (404, 0), (500, 1), (503, 1)])
def test_cms_healthcheck_http(status: int, expected: int) -> None:
    with serving(answering_with(status)) as port:
        result = node(str(CMS / "healthcheck.js"), env=base_env() | {"PORT": str(port)})
    assert result.returncode == expected, result.stdout


def test_cms_healthcheck_fails_when_nothing_listens() -> None:
    result = node(str(CMS / "healthcheck.js"), env=base_env() | {"PORT": str(free_port())})
    assert result.returncode == 1


def test_preload_exits_promptly_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            require("node"),
            "-r",
            str(SHARED / "preload.js"),
            "-e",
            "console.log('up'); setInterval(function () {}, 1000)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "up"
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=5)
    assert proc.returncode == 0


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


def run_first_admin_update(tmp_path: Path, env: dict[str, str]) -> dict[str, Any]:
    """The update in the image's layout (app/updates/), with publicsettings.json a link into the
    data volume as assemble-cms.sh makes it, against a fake KeystoneJS."""
    modules = tmp_path / "node_modules/keystone"
    modules.mkdir(parents=True)
    (modules / "index.js").write_text(FAKE_KEYSTONE)
    (tmp_path / "app/updates").mkdir(parents=True)
    update = tmp_path / "app/updates/0.0.1-admins.js"
    shutil.copy(CMS / "updates/0.0.1-admins.js", update)
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


# --------------------------------------------------------------------------- lockfiles


@pytest.mark.parametrize(
    ("directory", "version"), [(CMS / "extras", 2), (LM, 3)], ids=["connextcms-extras", "listing-manager"]
)
def test_lockfile_matches_package_json(directory: Path, version: int) -> None:
    package = json.loads((directory / "package.json").read_text())
    lock = json.loads((directory / "package-lock.json").read_text())
    assert lock["lockfileVersion"] == version
    assert lock["packages"][""]["dependencies"] == package["dependencies"]
    for name, spec in package["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name} must be pinned exactly"
        assert lock["packages"][f"node_modules/{name}"]["version"] == spec
    for key, entry in lock["packages"].items():
        if key:
            # npm here records no download address; npm then uses the configured registry.
            assert entry.get("resolved", "https://registry.npmjs.org/").startswith("https://registry.npmjs.org/"), key
            assert entry.get("integrity", "").startswith("sha512-"), key
    if version == 2:  # npm 6 (Node 8) reads only the legacy "dependencies" tree
        assert set(lock["dependencies"]) >= set(package["dependencies"])


# --------------------------------------------------------------------------- Listing-Manager


def lm_config(env: dict[str, str]) -> dict[str, Any]:
    script = (
        f"const r = require({json.dumps(str(LM / 'p2pvps-config.js'))}).load(process.env);"
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
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        up = node(str(LM / "healthcheck.js"), env=base_env() | {"P2PVPS_HEALTHCHECK_PORT": str(port)})
    down = node(str(LM / "healthcheck.js"), env=base_env() | {"P2PVPS_HEALTHCHECK_PORT": str(port)})
    assert up.returncode == 0, up.stdout
    assert down.returncode == 1


# --------------------------------------------------------------------------- OpenBazaar entrypoint

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
            "P2PVPS_OB_FILTER": str(OB / "openbazaar-config.jq"),
            "FAKE_CONFIG": str(layout["config"]),
            "FAKE_RECORD": str(layout["record"]),
        }
        | env
    )
    return subprocess.Popen(
        ["sh", str(OB / "entrypoint.sh"), *args],
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
    script = str(OB / "healthcheck.sh")
    require("bash")
    require("timeout")
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = str(listener.getsockname()[1])
        up = run([script], env=base_env() | {"P2PVPS_HEALTHCHECK_PORT": port})
    start = time.monotonic()
    down = run([script], env=base_env() | {"P2PVPS_HEALTHCHECK_PORT": port})
    assert up.returncode == 0, up.stdout
    assert down.returncode == 1 and time.monotonic() - start < 10
