"""The Nginx configuration exactly as the program uploads it, checked by nginx itself."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from components.catalog import COMPOSE_DIR
from components.settings import ServerSettings
from components.targets import LOCAL_ADMIN_CIDRS
from harness import container_env, containers, evaluate, settings_for, stack_names
from live_nginx import main_config, self_signed
from tools import require, run

pytestmark = pytest.mark.tools

NGINX_CONF_DIR = Path("/etc/nginx")


def uploaded_config(stack: str) -> str:
    nginx = containers(evaluate(stack))["nginx"]
    (upload,) = [u for u in nginx.plain("uploads") if u["file"] == "/etc/nginx/conf.d/default.conf"]
    return upload["content"]


def nginx_test(config: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the production text at its production paths, inside a private mount namespace
    where a tmpfs stands in for /etc/nginx (the image's layout: conf.d, tls/<name>)."""
    staging = tmp_path / "etc-nginx"
    (staging / "conf.d").mkdir(parents=True)
    (staging / "conf.d" / "default.conf").write_text(config)
    for name in ("site", "lt"):
        self_signed(staging / "tls" / name, name)
    (staging / "nginx.conf").write_text(main_config(tmp_path, f"{NGINX_CONF_DIR}/conf.d/*.conf"))
    script = (
        f'mount -t tmpfs tmpfs {NGINX_CONF_DIR} && cp -a "$0"/. {NGINX_CONF_DIR}/ '
        f"&& exec nginx -t -c {NGINX_CONF_DIR}/nginx.conf"
    )
    return run([require("unshare"), "-m", "sh", "-c", script, str(staging)])


@pytest.mark.parametrize("stack", stack_names())
def test_nginx_accepts_the_uploaded_configuration(stack: str, tmp_path: Path) -> None:
    require("nginx")
    result = nginx_test(uploaded_config(stack), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_check_can_fail(tmp_path: Path) -> None:
    require("nginx")
    broken = uploaded_config("dev").replace("proxy_pass ", "proxy_pas ", 1)
    result = nginx_test(broken, tmp_path)
    assert result.returncode != 0
    assert 'unknown directive "proxy_pas"' in result.stderr


@pytest.mark.parametrize("stack", stack_names())
def test_the_cms_admin_surface_answers_only_the_stacks_admin_cidrs(stack: str) -> None:
    target = settings_for(stack).target
    expected = target.admin.cidrs if isinstance(target, ServerSettings) else LOCAL_ADMIN_CIDRS
    assert expected
    config = uploaded_config(stack)
    (admin,) = [block for block in re.findall(r"\n    location / \{\n(.*?)\n    \}", config, re.S) if "deny" in block]
    assert re.findall(r"^ *(allow|deny) (\S+);$", admin, re.M) == [*(("allow", c) for c in expected), ("deny", "all")]
    nginx = containers(evaluate(stack))["nginx"]
    assert container_env(nginx)["P2PVPS_ADMIN_CIDRS"] == " ".join(expected)


def test_nginx_accepts_the_compose_template_once_filled_in(tmp_path: Path) -> None:
    """The compose rendering's template, filled the way the nginx image fills it (envsubst of the
    P2PVPS_ variables only), gives the admin location the .env's CIDR."""
    require("nginx")
    values = {"P2PVPS_DOMAIN": "p2pvps.example.com", "P2PVPS_TUNNEL_DOMAIN": "p2pvps.example.com"}
    values["P2PVPS_ADMIN_CIDRS"] = "203.0.113.7/32"
    template = (COMPOSE_DIR / "nginx/templates/default.conf.template").read_text()
    shell_format = " ".join(f"${{{name}}}" for name in values)
    filled = run([require("envsubst"), shell_format], input=template, env=values)
    assert filled.returncode == 0, filled.stderr
    assert "${P2PVPS_" not in filled.stdout
    assert "        allow 203.0.113.7/32;\n        deny all;\n" in filled.stdout
    result = nginx_test(filled.stdout, tmp_path)
    assert result.returncode == 0, result.stderr
